/**
 * Pause / unpause a DAG — PATCH /dags/{id}, the UI's toggle, `deferflow dags pause|unpause`.
 * `is_paused` is configuration, not a run or task state: a plain single-document update. Returns
 * the DAG after the change, or null when no such DAG is stored (callers say how to fix that).
 * Audited (`dag.pause` / `dag.unpause`).
 */
import { DagRepository } from '../../store/repositories/dag-repository.ts';
import type { DagDoc } from '../../store/schema.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';

export async function setDagPaused(app: AppContext, dagId: string, paused: boolean): Promise<DagDoc | null> {
  const doc = await new DagRepository(app.store).setPaused(dagId, paused);
  if (doc) await audit(app, [{ event: paused ? 'dag.pause' : 'dag.unpause', dagId }]);
  return doc;
}
