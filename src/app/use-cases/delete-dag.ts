/**
 * Delete a DAG and everything recorded about it — `deferflow dags delete` and
 * DELETE /api/v1/dags/{dag_id} (Airflow's `delete_dag`): its runs with their task instances,
 * triggers, XComs and task logs, its serialized versions, the import error of its file when no
 * other DAG comes from that file, and the DAG row itself. As in Airflow, the audit log is kept
 * (and records the deletion: `dag.delete`).
 *
 * Deleting is not a state change: rows go away. The order keeps concurrent processes from
 * resurrecting what is being deleted: the DAG row goes first, so no scheduler creates another run
 * of it; then triggers (each through the transitions, so an in-process triggerer hears of it and
 * stops waiting, and no triggerer resumes a task being deleted); then task instances, XComs, logs
 * and runs; task instances a scheduler created meanwhile for a run being deleted are swept last.
 * There are no multi-document transactions (ARCHITECTURE.md), so a delete that fails half-way
 * can simply be run again: the DAG counts as present while any run of it is left.
 *
 * Refused (STATE_CONFLICT) while a task instance of the DAG is `running`, as Airflow refuses: its
 * worker would go on writing log lines and XComs for rows that no longer exist. Deferred tasks
 * hold no worker and are deleted with their triggers.
 *
 * As in Airflow, the DAG's file is not touched: while it still defines the DAG, the DAG processor
 * records the DAG again at its next parse of the file (a fresh row: paused as the DAG says for new
 * DAGs, no runs).
 */
import { DeferflowError } from '../../errors/deferflow-error.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';

export interface DeletedDag {
  dagId: string;
  deleted: { dagRuns: number; taskInstances: number; xcom: number; taskLogs: number; triggers: number };
}

/** Deletes the DAG with all it owns; null when there is no such DAG (no DAG row and no run of it). */
export async function deleteDag(app: AppContext, dagId: string): Promise<DeletedDag | null> {
  const { store } = app;
  const [dag, runs] = await Promise.all([
    store.dags.findOne({ _id: dagId }, { projection: { fileloc: 1 } }),
    store.dagRuns.find({ dag_id: dagId }, { projection: { _id: 1, run_id: 1 } }).toArray(),
  ]);
  if (!dag && runs.length === 0) return null;
  const running = await store.taskInstances
    .find({ dag_id: dagId, state: 'running' }, { projection: { task_id: 1, run_id: 1 } })
    .limit(5)
    .toArray();
  if (running.length) {
    throw new DeferflowError(
      'STATE_CONFLICT',
      `Cannot delete DAG '${dagId}': task instances of it are still running (${running.map((t) => `${t.task_id} in ${t.run_id}`).join(', ')})`,
      { hint: 'Wait until they finish, or mark them failed or success, then delete the DAG.' },
    );
  }

  if (dag) await store.dags.deleteOne({ _id: dagId });

  let triggers = 0;
  const triggerRows = await store.triggers.find({ dag_id: dagId }, { projection: { _id: 1 } }).toArray();
  for (const t of triggerRows) if (await app.triggers.delete(t._id)) triggers += 1;

  let taskInstances = 0;
  const deleteTaskInstances = async (): Promise<void> => {
    // Per run through the transitions; the run ids come from the rows themselves, so task
    // instances whose run row is already gone go too.
    const rows = await store.taskInstances.find({ dag_id: dagId }, { projection: { run_id: 1 } }).toArray();
    for (const runId of new Set(rows.map((r) => r.run_id))) taskInstances += await app.tis.deleteForRun(dagId, runId);
  };
  await deleteTaskInstances();
  const [xcom, taskLogs] = await Promise.all([
    store.xcom.deleteMany({ dag_id: dagId }).then((r) => r.deletedCount),
    store.taskLogs.deleteMany({ dag_id: dagId }).then((r) => r.deletedCount),
  ]);
  // Triggers inserted by a task that deferred while we deleted (its update then found no row).
  triggers += (await store.triggers.deleteMany({ dag_id: dagId })).deletedCount;

  let dagRuns = 0;
  for (const r of runs) if (await app.runs.delete(r._id)) dagRuns += 1;
  // Runs created between our first read and the DAG row's removal.
  dagRuns += (await store.dagRuns.deleteMany({ dag_id: dagId })).deletedCount;
  await deleteTaskInstances();

  await store.dagVersions.deleteMany({ dag_id: dagId });
  if (dag?.fileloc) {
    // An import error is about a file; it concerns this DAG alone when no other DAG comes from it.
    const others = await store.dags.countDocuments({ fileloc: dag.fileloc });
    if (others === 0) await store.importErrors.deleteOne({ _id: dag.fileloc });
  }
  const deleted = { dagRuns, taskInstances, xcom, taskLogs, triggers };
  await audit(app, [{ event: 'dag.delete', dagId, details: { ...deleted, fileloc: dag?.fileloc ?? null } }]);
  return { dagId, deleted };
}
