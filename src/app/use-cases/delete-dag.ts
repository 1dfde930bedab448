/**
 * Delete a DAG and everything stored under it — DELETE /api/v1/dags/{dag_id} and `deferflow dags
 * delete`. As in Airflow, the audit log is kept, and a DAG whose file is still in a DAGs folder
 * comes back (empty, paused as new DAGs are) when a DAG processor parses it next. Triggers of its
 * deferred tasks go first and an in-process triggerer is told, so nothing resumes a deleted task;
 * a worker still running one of its tasks finds the row gone and records nothing.
 * Returns what was deleted, or null when no such DAG is stored.
 */
import { deleteDagRows, triggerIdsOfDag, type DagDeletionCounts } from '../../store/repositories/dag-deletion.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';
import { getDag } from '../queries/dag-queries.ts';

export async function deleteDag(app: AppContext, dagId: string): Promise<{ dagId: string; deleted: DagDeletionCounts } | null> {
  const dag = await getDag(app.store, dagId);
  if (!dag) return null;
  const triggerIds = app.bus ? await triggerIdsOfDag(app.store, dagId) : [];
  const deleted = await deleteDagRows(app.store, dagId);
  const at = new Date();
  for (const id of triggerIds) app.bus?.emit({ kind: 'trigger', at, action: 'deleted', trigger_id: id });
  await audit(app, [{ event: 'dag.delete', dagId, details: { ...deleted, fileloc: dag.fileloc } }]);
  return { dagId, deleted };
}
