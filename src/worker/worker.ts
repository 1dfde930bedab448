/**
 * A worker: claims `queued` task instances up to its slots and runs each try (TaskRunner). Its
 * claim loop is an observable — an adaptive poll merged with wake-ups (a task was queued on the
 * bus, or one of its own slots freed up) through `exhaustMap`, so claims never overlap. A claim
 * takes as many rows as slots are free in two round trips; the tries' outcomes and log lines are
 * written batched across slots (TaskRunner).
 *
 * Every running try holds a lease on its row; one timer renews all leases every `heartbeatMs`. A
 * renewal that fails means the row is no longer ours (reaped as a zombie, cleared, marked by
 * hand): the try is aborted and never writes the row again. A deferring try releases its slot the
 * moment its row is deferred.
 *
 * stop({ graceful }) stops claiming, waits for running tries up to `timeoutMs`, then aborts what is
 * left (they fail through the normal path, so retries apply); nothing else is released.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { EMPTY, Subject, type Subscription, catchError, defer, exhaustMap, filter, from, merge, NEVER } from 'rxjs';
import type { DagSource } from '../dag-processing/dag-definition.ts';
import type { Store } from '../store/store.ts';
import type { StateChangeBus } from '../store/state-change-bus.ts';
import type { TaskInstanceDoc } from '../store/schema.ts';
import { TaskInstanceTransitions } from '../store/transitions/task-instance-transitions.ts';
import { TriggerTransitions } from '../store/transitions/trigger-transitions.ts';
import { JobRepository } from '../store/repositories/job-repository.ts';
import { LeaseLost, WorkerShutdown } from './abort-reasons.ts';
import { RunningTry } from './running-try.ts';
import { TaskRunner, type WorkerConnectionLookup } from './task-runner.ts';
import type { Services } from '../services/services.ts';
import { composeDeferral } from '../triggers/deferral-provider.ts';
import type { TriggerKindRegistry } from '../triggers/trigger-kind-registry.ts';
import { DEFAULTS } from '../config/defaults.ts';

export interface WorkerOptions {
  store: Store;
  dagBag: DagSource;
  bus?: StateChangeBus;
  logger: Logger;
  /** Tries run at once (default 16). */
  slots?: number;
  /** Only claim task instances of these queues (default: any). */
  queues?: string[];
  /** Lease length; a worker silent this long is presumed dead (default 30 s). */
  leaseMs?: number;
  /** Lease renewal period (default leaseMs / 3). */
  heartbeatMs?: number;
  /** Claim poll interval when nothing wakes the worker (default 250 ms). */
  pollIntervalMs?: number;
  id?: string;
  /** Exposed to tasks as `ctx.services` (e.g. an AWS client factory). */
  services?: Services;
  /**
   * Trigger kinds, so a deferral stores its trigger's routing keys (how a triggerer that does not
   * hold it finds it by event key). Default: the built-in kinds and users' registerTriggerKind ones.
   */
  triggerKinds?: TriggerKindRegistry;
  /** Synchronous connection lookup for templates (`conn.*`); default none. */
  connectionLookup?: WorkerConnectionLookup;
  /** Task log flush period (default 1000 ms). */
  logFlushMs?: number;
  /**
   * Shortest claim poll interval (default min(20, pollIntervalMs)): right after a claim found work
   * the worker polls this soon, backing off to pollIntervalMs while nothing is queued — workers in
   * other processes than the scheduler hear of queued tasks only by polling.
   */
  minPollIntervalMs?: number;
  /** How long an outcome or log write waits to be batched with other slots' (default 2 ms). */
  batchDelayMs?: number;
  /** How often the worker looks for task callbacks stopped processes left behind (default 5 s). */
  callbackSweepMs?: number;
}

export class Worker {
  readonly id: string;
  readonly slots: number;
  private readonly store: Store;
  private readonly bus?: StateChangeBus;
  private readonly log: Logger;
  private readonly tis: TaskInstanceTransitions;
  private readonly jobs: JobRepository;
  private readonly runner: TaskRunner;
  private readonly dagBag: DagSource;
  private readonly queues?: string[];
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollIntervalMs: number;
  private readonly minPollIntervalMs: number;
  private readonly host = hostname();
  private readonly poll = new Subject<void>();
  private pollTimer?: NodeJS.Timeout;
  private pollDelayMs: number;

  private readonly running = new Map<string, RunningTry>();
  private readonly slotFreed = new Subject<void>();
  private sub?: Subscription;
  private heartbeatTimer?: NodeJS.Timeout;
  private claiming: Promise<void> = Promise.resolve();
  private stopping = false;
  private dead = false;
  private registered = false;
  private lastJobHeartbeat = 0;
  private lastCallbackSweep = 0;
  private adopting: Promise<void> | null = null;
  private readonly callbackSweepMs: number;
  private wanted = false;

  constructor(opts: WorkerOptions) {
    this.id = opts.id ?? `worker-${randomUUID()}`;
    this.slots = Math.max(1, opts.slots ?? DEFAULTS.workerSlots);
    this.store = opts.store;
    this.bus = opts.bus;
    this.dagBag = opts.dagBag;
    this.log = opts.logger.child({ component: 'worker', worker_id: this.id });
    this.tis = new TaskInstanceTransitions(opts.store, opts.bus, { writerId: this.id });
    this.jobs = new JobRepository(opts.store);
    this.queues = opts.queues;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.max(10, Math.floor(this.leaseMs / 3));
    this.pollIntervalMs = opts.pollIntervalMs ?? 250;
    this.minPollIntervalMs = Math.min(opts.minPollIntervalMs ?? 20, this.pollIntervalMs);
    this.pollDelayMs = this.pollIntervalMs;
    this.callbackSweepMs = opts.callbackSweepMs ?? 5000;
    this.runner = new TaskRunner({
      store: opts.store,
      dagBag: opts.dagBag,
      logger: opts.logger,
      tis: this.tis,
      triggers: new TriggerTransitions(opts.store, opts.bus),
      connectionLookup: opts.connectionLookup,
      services: opts.services ?? {},
      triggerKinds: opts.triggerKinds ?? composeDeferral().triggerKinds,
      leaseMs: this.leaseMs,
      logFlushMs: opts.logFlushMs,
      batchDelayMs: opts.batchDelayMs,
      workerId: this.id,
    });
  }

  get slotsInUse(): number {
    return this.running.size;
  }

  /** Ids of the task instances this worker runs right now. */
  get runningTaskInstanceIds(): string[] {
    return [...this.running.keys()];
  }

  async start(): Promise<void> {
    if (this.sub) return;
    this.stopping = false;
    await this.jobs.register('WorkerJob', { id: this.id, capacity: this.slots, load: 0 });
    this.registered = true;
    this.lastJobHeartbeat = Date.now();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    const queued$ = this.bus
      ? this.bus.changes$.pipe(
          filter((c) => c.kind === 'task_instance' && c.ti.state === 'queued' && (!this.queues?.length || this.queues.includes(c.ti.queue))),
        )
      : NEVER;
    this.sub = merge(this.poll, queued$, this.slotFreed)
      .pipe(
        filter(() => ((this.wanted = true), !this.stopping)),
        exhaustMap(() => defer(() => from((this.claiming = this.fillSlots()))).pipe(catchError(() => EMPTY))),
      )
      .subscribe();
    this.schedulePoll(0);
    this.log.info({ slots: this.slots, queues: this.queues ?? 'any', leaseMs: this.leaseMs }, 'worker started');
  }

  /** The next claim poll in `ms`: soon after work was found, backing off while nothing is queued. */
  private schedulePoll(ms: number): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      if (this.stopping) return;
      this.poll.next();
    }, ms);
  }

  /**
   * Claim until the slots are full or nothing is queued, as many rows per round trip as slots are
   * free (resumes first); re-run if woken meanwhile.
   */
  private async fillSlots(): Promise<void> {
    let found = false;
    try {
      do {
        this.wanted = false;
        while (!this.stopping && this.running.size < this.slots) {
          let batch: TaskInstanceDoc[];
          try {
            batch = await this.tis.claimMany({
              workerId: this.id,
              hostname: this.host,
              pid: process.pid,
              leaseMs: this.leaseMs,
              queues: this.queues,
              limit: this.slots - this.running.size,
              executionTimeoutMs: (doc) => {
                const dag = this.dagBag.getDag(doc.dag_id);
                return dag?.hasTask(doc.task_id) ? dag.getTask(doc.task_id).executionTimeoutMs : null;
              },
            });
          } catch (e) {
            this.log.error({ err: e }, 'claim failed');
            return;
          }
          if (batch.length === 0) break;
          found = true;
          for (const ti of batch) this.launch(ti);
        }
      } while (this.wanted && !this.stopping && this.running.size < this.slots);
    } finally {
      this.pollDelayMs = found ? this.minPollIntervalMs : Math.min(this.pollIntervalMs, this.pollDelayMs * 2);
      if (!this.stopping) this.schedulePoll(this.pollDelayMs);
    }
  }

  private launch(ti: TaskInstanceDoc): void {
    const rt = new RunningTry(ti);
    this.running.set(ti._id, rt);
    rt.done = this.runner
      .run(rt)
      .catch((e: unknown) => this.log.error({ err: e, ti: ti._id }, 'task runner crashed'))
      .finally(() => {
        this.running.delete(ti._id);
        if (!this.stopping) this.slotFreed.next();
      });
  }

  /** Renew every held lease (one timer, one round trip for all); a lost lease aborts its try for good. */
  private async heartbeat(): Promise<void> {
    if (this.dead) return;
    const held = [...this.running.values()].filter((rt) => rt.mayWrite);
    try {
      const lost = await this.tis.heartbeatMany(
        held.map((rt) => ({ tiId: rt.ti._id, token: rt.token })),
        this.leaseMs,
      );
      for (const rt of held) {
        if (lost.has(rt.ti._id) && rt.mayWrite && !rt.settling) {
          this.log.warn({ ti: rt.ti._id }, 'lease lost (task instance reaped, cleared or marked elsewhere); aborting the try');
          rt.loseLease(new LeaseLost());
        }
      }
    } catch (e) {
      // A failed renewal is not a lost lease: retry next beat; the lease outlives a few misses.
      this.log.warn({ err: e }, 'lease renewal failed');
    }
    if (this.registered && Date.now() - this.lastJobHeartbeat >= Math.max(this.heartbeatMs, 1000)) {
      this.lastJobHeartbeat = Date.now();
      await this.jobs.heartbeat(this.id, { load: this.running.size }).catch(() => undefined);
    }
    // Not awaited: a left-behind callback that runs long must not hold up lease renewals.
    if (!this.adopting && Date.now() - this.lastCallbackSweep >= this.callbackSweepMs) {
      this.adopting = this.adoptCallbacks().finally(() => {
        this.adopting = null;
      });
    }
  }

  /** Task callbacks left behind by stopped processes, for the DAGs this worker knows (task-callbacks.ts). */
  private async adoptCallbacks(): Promise<void> {
    this.lastCallbackSweep = Date.now();
    if (this.stopping || this.dead) return;
    await this.runner.callbacks
      .adoptOrphans([...this.dagBag.dags.keys()], (req, ti) => this.runner.runLeftBehindCallback(req, ti))
      .catch((e: unknown) => this.log.warn({ err: e }, 'could not look for task callbacks left behind'));
  }

  async stop(opts: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.stopping && !this.sub) return;
    this.stopping = true;
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await this.claiming.catch(() => undefined);
    const tries = () => Promise.all([...this.running.values()].map((rt) => rt.done));
    if (this.running.size > 0) {
      const graceful = opts.graceful ?? true;
      const timeoutMs = graceful ? (opts.timeoutMs ?? 30_000) : 0;
      // Forced shutdown as a race: the tries finishing vs. the grace period running out.
      const finished = await Promise.race([tries().then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!finished) {
        this.log.warn({ running: this.running.size }, 'grace period over; aborting running tries');
        for (const rt of this.running.values()) rt.abort(new WorkerShutdown());
        await Promise.race([tries(), sleep(5000)]);
      }
    }
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    await this.adopting;
    if (this.registered && !this.dead) await this.jobs.markStopped(this.id).catch(() => undefined);
    this.registered = false;
    this.log.info('worker stopped');
  }

  /**
   * Simulate sudden process death (tests, chaos drills): stop claiming and heartbeating at once and
   * never write again; running tries are aborted as if the process vanished. Their leases expire
   * and the scheduler reaps them as zombies.
   */
  simulateCrash(): void {
    this.dead = true;
    this.stopping = true;
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    for (const rt of this.running.values()) rt.loseLease(new LeaseLost('Worker died'));
    this.log.warn('worker crashed (simulated)');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
