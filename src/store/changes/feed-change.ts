/**
 * What the change feed carries: task-instance and DAG-run state changes (full rows) and trigger
 * actions, whether made in this process (from the state-change bus, at once) or by another process
 * (from the updated_at poll, within one poll interval).
 */
import type { DagRunDoc, DagRunState, TaskInstanceDoc, TaskInstanceState } from '../schema.ts';
import type { StateChange } from '../state-change-bus.ts';

export type ChangeOrigin = 'local' | 'poll';

export type FeedChange =
  | {
      kind: 'task_instance';
      at: Date;
      origin: ChangeOrigin;
      ti: TaskInstanceDoc;
      /** The state before this change: known for in-process changes only. */
      previous: TaskInstanceState | undefined;
      /** The state this feed last passed on for the row, if any (a polled change's best guess at `previous`). */
      lastSeen: TaskInstanceState | undefined;
    }
  | {
      kind: 'dag_run';
      at: Date;
      origin: ChangeOrigin;
      run: DagRunDoc;
      previous: DagRunState | undefined;
      lastSeen: DagRunState | undefined;
    }
  | {
      kind: 'trigger';
      at: Date;
      origin: 'local';
      action: 'created' | 'fired' | 'deleted' | 'claimed' | 'released';
      trigger_id: string;
      task_instance_id?: string;
    };

/** A bus change as a feed change (`lastSeen` is filled in by the dedupe step). */
export function fromBus(c: StateChange): FeedChange {
  if (c.kind === 'task_instance') return { kind: 'task_instance', at: c.at, origin: 'local', ti: c.ti, previous: c.previous, lastSeen: undefined };
  if (c.kind === 'dag_run') return { kind: 'dag_run', at: c.at, origin: 'local', run: c.run, previous: c.previous, lastSeen: undefined };
  return { kind: 'trigger', at: c.at, origin: 'local', action: c.action, trigger_id: c.trigger_id, task_instance_id: c.task_instance_id };
}

/** A polled row as a feed change. */
export function polledTaskInstance(ti: TaskInstanceDoc): FeedChange {
  return { kind: 'task_instance', at: ti.updated_at, origin: 'poll', ti, previous: undefined, lastSeen: undefined };
}

export function polledDagRun(run: DagRunDoc): FeedChange {
  return { kind: 'dag_run', at: run.updated_at, origin: 'poll', run, previous: undefined, lastSeen: undefined };
}
