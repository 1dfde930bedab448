/**
 * Pause / unpause a DAG — PATCH /dags/{id}, the UI's toggle, `deferflow dags pause|unpause`.
 * `is_paused` is configuration, not a run or task state: a plain single-document update. Returns
 * the DAG after the change, or null when no such DAG is stored (callers say how to fix that).
 */
import { DagRepository } from '../../store/repositories/dag-repository.ts';
import type { DagDoc } from '../../store/schema.ts';
import type { AppContext } from '../app-context.ts';

export function setDagPaused(app: AppContext, dagId: string, paused: boolean): Promise<DagDoc | null> {
  return new DagRepository(app.store).setPaused(dagId, paused);
}
