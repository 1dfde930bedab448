/**
 * Why a running try's AbortSignal fired, besides TaskTimeout (src/errors/task-errors.ts):
 *  - LeaseLost: the row is no longer ours (reaped, cleared, marked, or the worker "died"); the try
 *    must never write the task instance again.
 *  - WorkerShutdown: the worker is stopping and the grace period ran out; the try fails through the
 *    normal path so its retries apply.
 */
import { DeferflowError } from '../errors/deferflow-error.ts';

export class LeaseLost extends DeferflowError {
  constructor(message = 'Lease lost: the task instance changed under this worker') {
    super('LEASE_LOST', message);
  }
}

export class WorkerShutdown extends DeferflowError {
  constructor(message = 'Worker shutting down: the task was stopped before it finished') {
    super('WORKER_SHUTDOWN', message);
  }
}
