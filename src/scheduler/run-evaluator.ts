/**
 * The scheduler's in-memory decisions for one running DAG run, from a snapshot of its task
 * instance states: which none-state tasks are ready / must be skipped / upstream_failed (trigger
 * rules), and whether the run is finished and how (Airflow's leaf rule) or deadlocked. Pure, so it
 * is unit-tested without a database; the scheduler applies the decisions through guarded writes.
 */
import type { DagDefinition as DAG } from '../dag-processing/dag-definition.ts';
import type { TaskInstanceState } from '../store/schema.ts';
import { FINISHED_TI_STATES } from '../store/schema.ts';
import { evaluateTriggerRule, summarizeUpstream, type RuleDecision } from '../dag/trigger-rules.ts';

export type NoneDecision = Exclude<RuleDecision, 'wait'>;

const FINISHED = new Set<TaskInstanceState>(FINISHED_TI_STATES);

export function isFinishedState(s: TaskInstanceState): boolean {
  return FINISHED.has(s);
}

/** Decisions for every none-state task (task id → decision); tasks that must wait are left out. */
export function decideNoneStateTasks(dag: DAG, states: ReadonlyMap<string, TaskInstanceState>): Map<string, NoneDecision> {
  return decideTasks(dag, (id) => states.get(id), states.keys());
}

/**
 * Decisions for the none-state tasks among `taskIds` (the scheduler passes those whose upstream
 * changed, so a pass costs what changed, not the size of the DAG); tasks that must wait are left
 * out. `stateOf` answers undefined for a task without a task instance (yet): not done.
 */
export function decideTasks(dag: DAG, stateOf: (taskId: string) => TaskInstanceState | undefined, taskIds: Iterable<string>): Map<string, NoneDecision> {
  const out = new Map<string, NoneDecision>();
  for (const taskId of taskIds) {
    if (stateOf(taskId) !== null || !dag.hasTask(taskId)) continue;
    const task = dag.getTask(taskId);
    const upstream: Array<TaskInstanceState> = [];
    for (const id of task.upstreamTaskIds) upstream.push(stateOf(id) ?? null);
    const d = evaluateTriggerRule(task.triggerRule, summarizeUpstream(upstream));
    if (d !== 'wait') out.set(taskId, d);
  }
  return out;
}

/**
 * 'success' / 'failed' once every task instance is finished (failed if any leaf failed or is
 * upstream_failed, as Airflow decides), 'deadlock' when only none-state tasks remain and none of
 * them can ever run, else null (still going).
 */
export function runOutcome(dag: DAG, states: ReadonlyMap<string, TaskInstanceState>): 'success' | 'failed' | 'deadlock' | null {
  let unfinished = 0;
  let noneOnly = true;
  for (const s of states.values()) {
    if (!isFinishedState(s)) {
      unfinished += 1;
      if (s !== null) noneOnly = false;
    }
  }
  if (unfinished === 0) {
    const leaves = dag.taskList.filter((t) => t.downstreamTaskIds.size === 0).map((t) => states.get(t.taskId));
    return leaves.some((s) => s === 'failed' || s === 'upstream_failed') ? 'failed' : 'success';
  }
  if (noneOnly && decideNoneStateTasks(dag, states).size === 0) return 'deadlock';
  return null;
}
