/**
 * Signals a task can raise from `execute` to steer its own outcome, mirroring Airflow's
 * AirflowSkipException / AirflowFailException / AirflowTaskTimeout.
 */
import { DeferflowError } from './deferflow-error.ts';

/** The task ends `skipped` (downstream trigger rules see a skip, not a failure). */
export class TaskSkipped extends DeferflowError {
  constructor(message = 'Task skipped') {
    super('TASK_SKIPPED', message);
  }
}

/** The task ends `failed` without using its remaining retries. */
export class TaskFailedNoRetry extends DeferflowError {
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
