/**
 * Set a DAG run's state by hand — PATCH /dags/{id}/dagRuns/{run} and the UI's "mark run". As
 * Airflow's set_dag_run_state_to_success / _failed, the unfinished task instances are settled first:
 * to success for a successful run; for a failed run the started ones (running, deferred, waiting to
 * be rescheduled) fail and the rest are skipped. Then the run changes state through its guarded
 * transition; losing that race is STATE_CONFLICT (retry).
 */
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { FINISHED_TI_STATES, type DagRunDoc } from '../../store/schema.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';
import { findTaskInstances } from '../queries/task-instance-queries.ts';
import { markTaskInstances } from './mark-task-instances.ts';

export async function setDagRunState(app: AppContext, run: DagRunDoc, state: 'success' | 'failed' | 'queued'): Promise<DagRunDoc> {
  const unfinished = await findTaskInstances(app.store, { dagId: run.dag_id, runId: run.run_id, notStates: [...FINISHED_TI_STATES] });
  if (state === 'success') await markTaskInstances(app, unfinished, 'success');
  if (state === 'failed') {
    const started = unfinished.filter((t) => t.state === 'running' || t.state === 'deferred' || t.state === 'up_for_reschedule');
    await markTaskInstances(app, started, 'failed');
    await markTaskInstances(
      app,
      unfinished.filter((t) => !started.includes(t)),
      'skipped',
    );
  }
  const updated = await app.runs.markState(run._id, state);
  if (!updated) throw new DeferflowError('STATE_CONFLICT', `DAG run '${run.run_id}' changed while being set to ${state}; retry`);
  await audit(app, [
    {
      event: `dag_run.${state}`,
      dagId: run.dag_id,
      runId: run.run_id,
      logicalDate: run.logical_date,
      details: { previous_state: run.state, new_state: state },
    },
  ]);
  return updated;
}
