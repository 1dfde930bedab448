/**
 * Mark task instances success / failed / skipped by hand — behind PATCH …/taskInstances/{task},
 * POST /dags/{id}/updateTaskInstancesState (and the UI's mark buttons). Each row through its
 * guarded transition; the trigger a deferred row waited on is deleted with it; a row already in
 * the state is left alone; a row that changed concurrently is retried on its fresh version a few
 * times, then left alone.
 */
import type { DagDoc, TaskInstanceDoc } from '../../store/schema.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';
import { getDagRun, runIdsAround } from '../queries/dag-run-queries.ts';
import { findTaskInstances } from '../queries/task-instance-queries.ts';
import { withRelatives } from '../task-graph.ts';
import { WRITE_ATTEMPTS } from './clear-task-instances.ts';

export type MarkableState = 'success' | 'failed' | 'skipped';

/** Mark the given rows; returns each marked row as it was before. */
export async function markTaskInstances(app: AppContext, tis: ReadonlyArray<TaskInstanceDoc>, state: MarkableState): Promise<TaskInstanceDoc[]> {
  const marked: TaskInstanceDoc[] = [];
  for (const ti of tis) {
    if (ti.state === state) continue;
    let before: TaskInstanceDoc | null = null;
    for (let i = 0; i < WRITE_ATTEMPTS && !before; i++) before = await app.tis.markStateAndDropTrigger(ti._id, state);
    if (before) marked.push(before);
  }
  await audit(
    app,
    marked.map((t) => ({
      event: `mark_${state}`,
      dagId: t.dag_id,
      taskId: t.task_id,
      runId: t.run_id,
      mapIndex: t.map_index,
      tryNumber: t.try_number,
      logicalDate: t.logical_date,
      details: { previous_state: t.state ?? 'none', new_state: state },
    })),
  );
  return marked;
}

export interface MarkSelection {
  dag: DagDoc;
  runId: string;
  taskId: string;
  newState: MarkableState;
  includeUpstream?: boolean;
  includeDownstream?: boolean;
  /** Also the same tasks in runs at or before / at or after this run's logical date. */
  includePast?: boolean;
  includeFuture?: boolean;
}

/** The rows a mark would change (those not already in the new state). */
export async function selectTaskInstancesToMark(app: AppContext, sel: MarkSelection): Promise<TaskInstanceDoc[]> {
  const taskIds = withRelatives(sel.dag, [sel.taskId], { upstream: sel.includeUpstream, downstream: sel.includeDownstream });
  let runIds = [sel.runId];
  if (sel.includePast || sel.includeFuture) {
    const run = await getDagRun(app.store, sel.dag.dag_id, sel.runId);
    runIds = run ? await runIdsAround(app.store, sel.dag.dag_id, run.logical_date, Boolean(sel.includePast), Boolean(sel.includeFuture)) : [];
  }
  return findTaskInstances(app.store, { dagId: sel.dag.dag_id, runIds, taskIds, notStates: [sel.newState] });
}
