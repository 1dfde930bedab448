/**
 * Clear task instances so they run again (Airflow's clear) — behind POST
 * /dags/{id}/clearTaskInstances, POST …/dagRuns/{run}/clear (and the UI's clear buttons) and
 * `deferflow tasks clear`.
 *
 * Selection: a DAG's task instances, narrowed by run, logical-date range, task ids (or a pattern on
 * the DAG's task ids) grown by their upstream / downstream relatives, and states (only failed,
 * only running: the caller's meaning).
 * Clearing: each row goes to none through its guarded transition with its retries granted again
 * (max_tries = try_number + the task's retries), the trigger a deferred row waited on is deleted
 * with it, and the runs touched are requeued so the scheduler picks the rows up. A row that changed
 * concurrently is retried on its fresh version a few times, then left alone (reported as not
 * cleared).
 */
import type { DagDoc, TaskInstanceDoc, TaskInstanceState } from '../../store/schema.ts';
import { dagRunId } from '../../store/schema.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';
import { getDag } from '../queries/dag-queries.ts';
import type { DateRange } from '../queries/page.ts';
import { findTaskInstances } from '../queries/task-instance-queries.ts';
import { withRelatives } from '../task-graph.ts';

/** Guarded writes that lose to a concurrent writer are retried on the fresh row this many times in all. */
export const WRITE_ATTEMPTS = 3;

export const FAILED_STATES: TaskInstanceState[] = ['failed', 'upstream_failed'];

export interface ClearSelection {
  dagId: string;
  runId?: string;
  logicalDate?: DateRange;
  /** Explicit task ids. */
  taskIds?: string[];
  /** Or: the DAG's task ids this pattern matches. */
  taskIdPattern?: RegExp;
  includeUpstream?: boolean;
  includeDownstream?: boolean;
  /** Only rows in these states. */
  states?: TaskInstanceState[];
  /** Listing order (default by run, then task). */
  orderBy?: 'run_id' | 'logical_date';
  /** The stored DAG, when the caller has read it already (saves a round trip). */
  storedDag?: DagDoc | null;
}

/** The task instances a clear would touch, and the stored DAG they belong to. */
export async function selectTaskInstancesToClear(app: AppContext, sel: ClearSelection): Promise<{ dag: DagDoc | null; tis: TaskInstanceDoc[] }> {
  const dag = sel.storedDag !== undefined ? sel.storedDag : await getDag(app.store, sel.dagId);
  let taskIds: string[] | undefined = sel.taskIds;
  if (!taskIds && sel.taskIdPattern) {
    const re = sel.taskIdPattern;
    taskIds = (dag?.tasks ?? []).map((t) => t.task_id).filter((id) => re.test(id));
  }
  if (taskIds) taskIds = withRelatives(dag, taskIds, { upstream: sel.includeUpstream, downstream: sel.includeDownstream });
  const tis = await findTaskInstances(
    app.store,
    { dagId: sel.dagId, runId: sel.runId, logicalDate: sel.logicalDate, taskIds, states: sel.states },
    { [sel.orderBy ?? 'run_id']: 1, task_id: 1 },
  );
  return { dag, tis };
}

/** Clear the given rows (see the file comment); returns each cleared row as it was before. */
export async function clearTaskInstances(
  app: AppContext,
  dag: DagDoc | null,
  tis: ReadonlyArray<TaskInstanceDoc>,
  opts: { resetDagRuns: boolean },
): Promise<TaskInstanceDoc[]> {
  const cleared: TaskInstanceDoc[] = [];
  for (const ti of tis) {
    const retries = app.retriesOf(dag, ti.dag_id, ti.task_id);
    let before: TaskInstanceDoc | null = null;
    // The guard is the row's version: a concurrent write makes us retry on the fresh row.
    for (let i = 0; i < WRITE_ATTEMPTS && !before; i++) before = await app.tis.clearAndDropTrigger(ti._id, retries);
    if (before) cleared.push(before);
  }
  if (opts.resetDagRuns) {
    for (const id of new Set(cleared.map((t) => dagRunId(t.dag_id, t.run_id)))) await app.runs.requeue(id);
  }
  await audit(
    app,
    cleared.map((t) => ({
      event: 'clear',
      dagId: t.dag_id,
      taskId: t.task_id,
      runId: t.run_id,
      mapIndex: t.map_index,
      tryNumber: t.try_number,
      logicalDate: t.logical_date,
      details: { previous_state: t.state ?? 'none' },
    })),
  );
  return cleared;
}
