/**
 * Control-flow signal (not a failure): thrown by `operator.defer(...)` and caught by the worker,
 * which persists the trigger and moves the task running → deferred, releasing its slot.
 * Mirrors Airflow's TaskDeferred.
 */
import { DeferflowError } from '../errors/deferflow-error.ts';
import type { TriggerLike } from '../triggers/serialized-trigger.ts';
import type { Duration } from '../util/duration.ts';

export interface DeferRequest {
  trigger: TriggerLike;
  /** Name of the operator method to call on resume: operator[method](ctx, { ...kwargs, event }). */
  method: string;
  kwargs?: Record<string, unknown>;
  /** Trigger timeout; stored as an absolute deadline with the trigger so it survives restarts. */
  timeout?: Duration | null;
}

/** Brand shared by every copy of deferflow (see dag-brand.ts): a DAG file's own copy may throw it. */
const DEFERRED_BRAND: unique symbol = Symbol.for('deferflow.taskDeferred');

/**
 * A DeferflowError like TaskSkipped, although it is no failure: it carries the catalogue code
 * TASK_DEFERRED, and the worker tells it apart by its brand (isTaskDeferred) before anything treats
 * it as an error.
 */
export class TaskDeferred extends DeferflowError {
  readonly [DEFERRED_BRAND] = true;
  constructor(readonly request: DeferRequest) {
    super('TASK_DEFERRED', `Task deferred until trigger ${'kind' in request.trigger ? request.trigger.kind : 'event'} fires; resume method ${request.method}`);
  }
}

/** A TaskDeferred from any copy of deferflow. */
export function isTaskDeferred(e: unknown): e is TaskDeferred {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[DEFERRED_BRAND] === true;
}
