/**
 * What `Runtime.events$` carries: task-instance and DAG-run state changes, typed, whether they
 * were made in this process (from the state-change bus, at once) or by another process (from the
 * change poller, within one poll interval).
 */
import type { DagRunDoc, DagRunState, TaskInstanceDoc, TaskInstanceState } from '../store/schema.ts';
import type { FeedChange } from '../store/changes/feed-change.ts';

export interface TaskInstanceEvent {
  type: 'task_instance';
  at: Date;
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  state: TaskInstanceState;
  /** Known for in-process changes; for polled ones, the last state this runtime saw (if any). */
  previous: TaskInstanceState | undefined;
  tryNumber: number;
  ti: TaskInstanceDoc;
  origin: 'local' | 'poll';
}

export interface DagRunEvent {
  type: 'dag_run';
  at: Date;
  dagId: string;
  runId: string;
  state: DagRunState;
  previous: DagRunState | undefined;
  run: DagRunDoc;
  origin: 'local' | 'poll';
}

export type RuntimeEvent = TaskInstanceEvent | DagRunEvent;

export function taskInstanceEvent(
  ti: TaskInstanceDoc,
  previous: TaskInstanceState | undefined,
  origin: 'local' | 'poll',
  at = ti.updated_at,
): TaskInstanceEvent {
  return {
    type: 'task_instance',
    at,
    dagId: ti.dag_id,
    runId: ti.run_id,
    taskId: ti.task_id,
    mapIndex: ti.map_index,
    state: ti.state,
    previous,
    tryNumber: ti.try_number,
    ti,
    origin,
  };
}

export function dagRunEvent(run: DagRunDoc, previous: DagRunState | undefined, origin: 'local' | 'poll', at = run.updated_at): DagRunEvent {
  return { type: 'dag_run', at, dagId: run.dag_id, runId: run.run_id, state: run.state, previous, run, origin };
}

/**
 * A change feed entry as a runtime event (trigger actions are not runtime events). A polled
 * change's `previous` is the last state this runtime saw of the row, if any.
 */
export function runtimeEventOf(c: FeedChange): RuntimeEvent | null {
  if (c.kind === 'task_instance') return taskInstanceEvent(c.ti, c.previous ?? c.lastSeen, c.origin, c.at);
  if (c.kind === 'dag_run') return dagRunEvent(c.run, c.previous ?? c.lastSeen, c.origin, c.at);
  return null;
}
