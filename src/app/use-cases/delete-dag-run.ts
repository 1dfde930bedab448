/**
 * Delete a DAG run with everything it owns — DELETE /dags/{id}/dagRuns/{run}. Deleting is not a
 * state change: rows go away. Triggers first (each through the transitions, so an in-process
 * triggerer hears of it and stops waiting), so no triggerer resumes a task that is being deleted;
 * then the task rows, their XComs and logs, then the run.
 */
import type { DagRunDoc } from '../../store/schema.ts';
import { TaskLogRepository } from '../../store/repositories/task-log-repository.ts';
import { XComRepository } from '../../store/repositories/xcom-repository.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';
import { findTaskInstances } from '../queries/task-instance-queries.ts';

export async function deleteDagRun(app: AppContext, run: DagRunDoc): Promise<void> {
  const tis = await findTaskInstances(app.store, { dagId: run.dag_id, runId: run.run_id });
  for (const t of tis) if (t.trigger_id) await app.triggers.delete(t.trigger_id);
  // Rows of triggers whose task already moved on (mid-deferral leftovers) go too.
  await app.triggers.deleteForRun(run.dag_id, run.run_id);
  await Promise.all([
    app.tis.deleteForRun(run.dag_id, run.run_id),
    new XComRepository(app.store).deleteForRun(run.dag_id, run.run_id),
    new TaskLogRepository(app.store).deleteForRun(run.dag_id, run.run_id),
  ]);
  await app.runs.delete(run._id);
  await audit(app, [{ event: 'dag_run.delete', dagId: run.dag_id, runId: run.run_id, logicalDate: run.logical_date, details: { task_instances: tis.length } }]);
}
