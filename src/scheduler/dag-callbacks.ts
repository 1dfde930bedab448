/**
 * DAG callbacks (on_success_callback / on_failure_callback) that are not lost when a scheduler
 * dies between finishing a run and running its callback (issue 14.9), as Airflow runs them from a
 * persisted DagCallbackRequest:
 *
 *   1. request: persist the callback request (kind 'dag'), owned by this scheduler, BEFORE the
 *      guarded run finish — so there is no moment when the run is finished and nothing says its
 *      callback is still due;
 *   2. the finish lost its race (another scheduler, a user): drop the request we created;
 *   3. the finish won: run the callback in the background (its lease renewed while it runs), then
 *      delete the request;
 *   4. every scheduler looks for requests whose lease expired (their scheduler died or stalled),
 *      takes them over with a guarded update, and runs them — if the run is still in the state the
 *      request names (a request whose finish never happened, or whose run was cleared since, is
 *      dropped unrun).
 * At least once: a scheduler dying after the callback but before step 3's delete runs it again.
 */
import type { Logger } from 'pino';
import type { DagDefinition } from '../dag-processing/dag-definition.ts';
import { errorMessage } from '../errors/deferflow-error.ts';
import type { Store } from '../store/store.ts';
import { dagRunId, type CallbackRequestDoc, type DagRunDoc } from '../store/schema.ts';
import { CallbackRequestRepository } from '../store/repositories/callback-request-repository.ts';

export interface DagCallbacksOptions {
  store: Store;
  logger: Logger;
  /** The scheduler's id: owner of the requests it runs. */
  ownerId: string;
  dagOf: (dagId: string) => DagDefinition | undefined;
  /** Lease of a running request (default 30 s, renewed every third of it). */
  leaseMs?: number;
}

export class DagCallbacks {
  private readonly repo: CallbackRequestRepository;
  private readonly leaseMs: number;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly opts: DagCallbacksOptions) {
    this.repo = new CallbackRequestRepository(opts.store);
    this.leaseMs = opts.leaseMs ?? 30_000;
  }

  /** Step 1: the request for finishing `run` in `state`, or null when its DAG has no such callback. */
  async request(run: DagRunDoc, dag: DagDefinition, state: 'success' | 'failed', reason: string | undefined): Promise<CallbackRequestDoc | null> {
    if (!(state === 'success' ? dag.onSuccessCallback : dag.onFailureCallback)) return null;
    return this.repo.create(
      {
        kind: 'dag',
        dag_id: run.dag_id,
        run_id: run.run_id,
        task_id: null,
        try_number: null,
        state,
        callback: state === 'success' ? 'on_success_callback' : 'on_failure_callback',
        reason: reason ?? null,
        clear_number: run.clear_number ?? 0,
      },
      this.opts.ownerId,
      this.leaseMs,
    );
  }

  /** Step 2: the finish lost; the request we created must not run. */
  async withdraw(req: CallbackRequestDoc): Promise<void> {
    await this.repo.delete(req._id);
  }

  /** Step 3: run it in the background; deleted once it ran (a callback that throws is logged, not retried). */
  start(req: CallbackRequestDoc, dag: DagDefinition): void {
    const cb = req.state === 'success' ? dag.onSuccessCallback : dag.onFailureCallback;
    if (!cb) {
      void this.repo.delete(req._id).catch(() => undefined);
      return;
    }
    const renew = setInterval(() => void this.repo.renew(req._id, this.opts.ownerId, this.leaseMs).catch(() => undefined), Math.max(10, this.leaseMs / 3));
    const p = (async () => {
      try {
        await cb({ dagId: req.dag_id, runId: req.run_id, state: req.state as 'success' | 'failed', ...(req.reason ? { reason: req.reason } : {}) });
      } catch (e) {
        this.opts.logger.error({ err: e, dag_id: req.dag_id, run_id: req.run_id }, `DAG ${req.callback} failed: ${errorMessage(e)}`);
      } finally {
        clearInterval(renew);
      }
      await this.repo.delete(req._id).catch((e: unknown) => this.opts.logger.warn({ err: e }, 'could not delete a DAG callback request that ran'));
    })();
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Step 4: take over and run requests whose scheduler died; returns how many were taken. */
  async adoptOrphans(dagIds: readonly string[]): Promise<number> {
    const orphans = await this.repo.claimOrphans('dag', dagIds, this.opts.ownerId, this.leaseMs);
    for (const req of orphans) {
      const dag = this.opts.dagOf(req.dag_id);
      const run = await this.opts.store.dagRuns.findOne({ _id: dagRunId(req.dag_id, req.run_id) });
      if (!dag || !run || run.state !== req.state || (run.clear_number ?? 0) !== (req.clear_number ?? 0)) {
        await this.repo.delete(req._id);
        continue;
      }
      this.opts.logger.warn(
        { dag_id: req.dag_id, run_id: req.run_id, attempts: req.attempts },
        `running the DAG ${req.callback} a stopped scheduler left behind`,
      );
      this.start(req, dag);
    }
    return orphans.length;
  }

  /** Callbacks still running (stop waits for them). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
