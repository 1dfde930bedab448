/**
 * Everything stored under one DAG id, removed (Airflow's delete_dag): its runs, task instances,
 * XComs, task logs, triggers, versions and its row. The audit log is kept, as Airflow keeps its
 * `log` rows (keep_records_in_log). Not a state change: rows go away.
 */
import type { Store } from '../store.ts';

export interface DagDeletionCounts {
  dagRuns: number;
  taskInstances: number;
  xcom: number;
  taskLogs: number;
  triggers: number;
}

/** The ids of the DAG's trigger rows (to tell an in-process triggerer they are gone). */
export async function triggerIdsOfDag(store: Store, dagId: string): Promise<string[]> {
  return (await store.triggers.find({ dag_id: dagId }, { projection: { _id: 1 } }).toArray()).map((t) => t._id);
}

/**
 * Delete in the order that keeps every reader consistent: triggers first (no triggerer resumes a
 * task being deleted), then task rows, their XComs and logs, the runs, the versions and the DAG.
 */
export async function deleteDagRows(store: Store, dagId: string): Promise<DagDeletionCounts> {
  const triggers = (await store.triggers.deleteMany({ dag_id: dagId })).deletedCount;
  const [taskInstances, xcom, taskLogs] = await Promise.all([
    store.taskInstances.deleteMany({ dag_id: dagId }).then((r) => r.deletedCount),
    store.xcom.deleteMany({ dag_id: dagId }).then((r) => r.deletedCount),
    store.taskLogs.deleteMany({ dag_id: dagId }).then((r) => r.deletedCount),
  ]);
  const dagRuns = (await store.dagRuns.deleteMany({ dag_id: dagId })).deletedCount;
  await store.dagVersions.deleteMany({ dag_id: dagId });
  await store.dags.deleteOne({ _id: dagId });
  return { dagRuns, taskInstances, xcom, taskLogs, triggers };
}
