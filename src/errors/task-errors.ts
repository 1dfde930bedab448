/**
 * Signals a task can raise from `execute` to steer its own outcome, mirroring Airflow's
 * AirflowSkipException / AirflowFailException / AirflowTaskTimeout.
 */
import { DeferflowError } from './deferflow-error.ts';

/**
 * Brand shared by every copy of deferflow: a task whose DAG file imported deferflow from another
 * install still steers its outcome (see src/dag/dag-brand.ts).
 */
const TASK_SIGNAL: unique symbol = Symbol.for('deferflow.taskSignal');

function signalOf(e: unknown): unknown {
  return typeof e === 'object' && e !== null ? (e as Record<symbol, unknown>)[TASK_SIGNAL] : undefined;
}

/** The task ends `skipped` (downstream trigger rules see a skip, not a failure). */
export class TaskSkipped extends DeferflowError {
  readonly [TASK_SIGNAL] = 'skipped';
  constructor(message = 'Task skipped') {
    super('TASK_SKIPPED', message);
  }
}

/** The task ends `failed` without using its remaining retries. */
export class TaskFailedNoRetry extends DeferflowError {
  readonly [TASK_SIGNAL] = 'failed_no_retry';
  constructor(message: string, options?: { cause?: unknown }) {
    super('TASK_FAILED', message, options);
  }
}

/** execution_timeout elapsed (counted from the first start of the try, deferral included). */
export class TaskTimeout extends DeferflowError {
  constructor(message: string) {
    super('TASK_TIMEOUT', message);
  }
}

/** A TaskSkipped from any copy of deferflow. */
export function isTaskSkipped(e: unknown): e is TaskSkipped {
  return signalOf(e) === 'skipped';
}

/** A TaskFailedNoRetry from any copy of deferflow. */
export function isTaskFailedNoRetry(e: unknown): e is TaskFailedNoRetry {
  return signalOf(e) === 'failed_no_retry';
}
