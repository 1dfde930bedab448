/**
 * The services of the task running in the current async context. The worker runs every execute
 * and resume method inside `runInTaskScope`, so code a task calls without a handle on its context —
 * a hook built the Airflow way, `new S3Hook({ aws_conn_id })` — resolves connections through the
 * very clients its process was assembled with (stored connections, DEFERFLOW_CONN_*, the SDK
 * chain), in every process layout, instead of through a process-wide default.
 *
 * AsyncLocalStorage scopes the value to the task's own promise chain: two tasks running at once on
 * one worker each see their own services, and code outside any task sees none.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Services } from './services.ts';

export interface TaskScope {
  services: Services;
  /** The running try's lease fence (TaskContext.fence); absent outside a worker's try. */
  fence?: () => Promise<void>;
}

const scope = new AsyncLocalStorage<TaskScope>();

/** Run `fn` (and everything it awaits) with `services` as the current task's services. */
export function runInTaskScope<T>(services: Services, fn: () => T, fence?: () => Promise<void>): T {
  return scope.run(fence ? { services, fence } : { services }, fn);
}

/**
 * Lease fencing for code without a handle on its task context (hooks): before an external side
 * effect, verify-and-renew the current try's lease — rejects with LeaseLost (and aborts the try)
 * when the try no longer owns its task instance. Resolves at once outside a worker's try.
 */
export function fenceCurrentTask(): Promise<void> {
  return scope.getStore()?.fence?.() ?? Promise.resolve();
}

/** The services of the task running here, or undefined outside a task. */
export function currentTaskServices(): Services | undefined {
  return scope.getStore()?.services;
}
