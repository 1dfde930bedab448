/**
 * Task callbacks (on_success / on_failure / on_retry_callback) that are not lost when the process
 * that changed the task's state dies before running them (issue 14.9), from persisted requests
 * (CallbackRequestDoc, kind 'task'):
 *   - a worker requests the callback right before writing the try's outcome, runs it once the
 *     outcome is written (the request's lease renewed meanwhile) and deletes the request; when
 *     the outcome write lost, it withdraws the request;
 *   - the scheduler requests the callback of a zombie it reaps, for a worker to run (the reaped
 *     try's worker is gone);
 *   - every worker takes over requests whose lease expired, for DAGs it knows, and runs them with
 *     a context rebuilt from the task instance — if the row is still in the state and try the
 *     request names (a request whose outcome never landed is dropped unrun).
 * At least once: a worker dying after the callback but before deleting the request runs it again
 * elsewhere.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors/deferflow-error.ts';
import type { Store } from '../store/store.ts';
import { taskInstanceId, type CallbackRequestDoc, type TaskInstanceDoc } from '../store/schema.ts';
import { CallbackRequestRepository } from '../store/repositories/callback-request-repository.ts';

export type TaskCallbackName = 'on_success_callback' | 'on_failure_callback' | 'on_retry_callback';

export class TaskCallbacks {
  private readonly repo: CallbackRequestRepository;

  constructor(
    private readonly store: Store,
    private readonly ownerId: string,
    private readonly logger: Logger,
    private readonly leaseMs = 30_000,
  ) {
    this.repo = new CallbackRequestRepository(store);
  }

  /** Persist the request for the try `ti` ending in `state`; null when it exists already (someone else handles it). */
  request(ti: TaskInstanceDoc, state: string, callback: TaskCallbackName, reason: string | null): Promise<CallbackRequestDoc | null> {
    return this.repo.create(
      { kind: 'task', dag_id: ti.dag_id, run_id: ti.run_id, task_id: ti.task_id, try_number: ti.try_number, state, callback, reason, clear_number: null },
      this.ownerId,
      this.leaseMs,
    );
  }

  /** The outcome write lost: the callback must not run. */
  async withdraw(req: CallbackRequestDoc): Promise<void> {
    await this.repo.delete(req._id).catch((e: unknown) => this.logger.warn({ err: e }, 'could not withdraw a task callback request'));
  }

  /** Run `fn` (the callback) holding the request's lease, then delete the request. */
  async run(req: CallbackRequestDoc, fn: () => Promise<void>): Promise<void> {
    const renew = setInterval(() => void this.repo.renew(req._id, this.ownerId, this.leaseMs).catch(() => undefined), Math.max(10, this.leaseMs / 3));
    try {
      await fn();
    } finally {
      clearInterval(renew);
      await this.repo.delete(req._id).catch((e: unknown) => this.logger.warn({ err: e }, 'could not delete a task callback request that ran'));
    }
  }

  /**
   * Requests whose runner died, for the DAGs in `dagIds`: each one whose task instance is still in
   * the state and try it names is handed to `runOne` (which runs it through `run`); the others are
   * dropped. Returns how many were taken over.
   */
  async adoptOrphans(dagIds: readonly string[], runOne: (req: CallbackRequestDoc, ti: TaskInstanceDoc) => Promise<void>): Promise<number> {
    const orphans = await this.repo.claimOrphans('task', dagIds, this.ownerId, this.leaseMs);
    for (const req of orphans) {
      const ti = await this.store.taskInstances.findOne({ _id: taskInstanceId(req.dag_id, req.run_id, req.task_id ?? '') });
      if (!ti || ti.state !== req.state || ti.try_number !== req.try_number) {
        await this.repo.delete(req._id);
        continue;
      }
      try {
        await runOne(req, ti);
      } catch (e) {
        this.logger.error({ err: e, ti: ti._id }, `could not run the ${req.callback} left behind: ${errorMessage(e)}`);
      }
    }
    return orphans.length;
  }
}
