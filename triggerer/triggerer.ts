/**
 * The triggerer process shell: wires the parts and runs the loops. It claims trigger rows up to
 * its capacity, runs each as an Observable, resumes (or fails) the deferred task when it fires,
 * heartbeats, and adopts the triggers of triggerers whose heartbeat stopped. Triggers are owned by
 * shard (a handful of leased rows), not row by row.
 *
 * Where each concern lives:
 *   held-trigger.ts      one held trigger's life, as a state machine with one teardown;
 *   held-triggers.ts     the triggers held here, and what the dispatcher may ask of them;
 *   ownership.ts         shard leases: claim / adopt / hand over / heartbeat / lost shards / release;
 *   row-deletes.ts       the trigger rows of resumed tasks, deleted in batches;
 *   routing/             router, dispatcher and the explicit Delivery of each event;
 *   sources/             SQS, push and observable event sources;
 *   timer-heap.ts        deadlines and DateTime triggers on one armed timer;
 *   outcome.ts           the guarded resume (or __fail__) of a decided trigger;
 *   resume-batches.ts    those resumes, written together per moment (one batch, two round trips);
 *   reconcilers          come from the deferral providers (e.g. the SageMaker sweep).
 *
 * Scale rules (100k triggers on one process): events come from shared sources (one consumer per
 * source) routed by key in O(1); one timer heap; no per-trigger polling.
 * Stopping releases triggers and cancels waits, never the remote jobs.
 */
import { randomUUID } from 'node:crypto';
import { Subject, Subscription, defer, exhaustMap, firstValueFrom, from, merge, mergeMap, retry, timer, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EventBridgeEvent } from '../src/events/eventbridge-event.ts';
import { TriggererMetrics } from '../src/metrics/triggerer-metrics.ts';
import type { Services } from '../src/services/services.ts';
import type { StateChange, StateChangeBus } from '../src/store/state-change-bus.ts';
import { TaskLogRepository } from '../src/store/repositories/task-log-repository.ts';
import type { Store } from '../src/store/store.ts';
import { TaskInstanceTransitions } from '../src/store/transitions/task-instance-transitions.ts';
import { TriggerShardLeases } from '../src/store/transitions/trigger-shard-leases.ts';
import { TriggerTransitions } from '../src/store/transitions/trigger-transitions.ts';
import { composeDeferral, type Deferral, type Reconciler } from '../src/triggers/deferral-provider.ts';
import { backoffDelayMs } from '../src/util/backoff.ts';
import { HeldTriggers } from './held-triggers.ts';
import { Lifecycle, drainOrForce, type LifecycleState } from './lifecycle.ts';
import { TriggerOwnership, type OwnedRow } from './ownership.ts';
import { ResumeBatches } from './resume-batches.ts';
import { RowDeletes } from './row-deletes.ts';
import { StatusWriter } from './status-writer.ts';
import { EventDispatcher, type DispatcherTestHooks } from './routing/event-dispatcher.ts';
import { EventRouter } from './routing/event-router.ts';
import type { EventSource } from './sources/event-source.ts';
import { TimerHeap } from './timer-heap.ts';
import { DEFAULTS } from '../src/config/defaults.ts';

/** Test hooks that widen race windows; never set in production. */
export interface TriggererTestHooks extends DispatcherTestHooks {
  /** After rows were claimed (their shard leased and the rows read), before their triggers start here. */
  claimed?(triggerIds: string[]): Promise<void>;
  /** Right before a lease write that would make a shard ours. */
  leasing?(shard: number): Promise<void>;
}

export interface TriggererOptions {
  store: Store;
  bus?: StateChangeBus;
  logger: Logger;
  /** The composed deferral providers (trigger kinds, routing keys, reconcilers, services). Default: the built-in kinds only. */
  deferral?: Deferral;
  /** Services for triggers, over the deferral's (a `taskLogs` writer is always provided). */
  services?: Services;
  /** Most triggers held at once. Default 10 000 (the CLI setting's default). */
  capacity?: number;
  /** Heartbeat (and ownership check) period. Default 2 s. */
  heartbeatMs?: number;
  /**
   * Lease of the trigger shards, renewed by each heartbeat: a triggerer whose heartbeat stopped this
   * long ago loses its shards, which another takes at once. Default 8 s (adoption within 10 s of
   * the last heartbeat).
   */
  adoptAfterMs?: number;
  /** Accepted for compatibility; claims are by shard (rows are read in batches of 5,000). */
  claimBatch?: number;
  /** Claim / task-change poll period (in-process changes wake it at once). Default 1 s. */
  pollIntervalMs?: number;
  /** Reconcile sweep period of the providers' reconcilers. Default 60 s. */
  sweepIntervalMs?: number;
  /** Safety margin subtracted from the previous sweep's start. Default 120 s. */
  sweepSafetyMarginMs?: number;
  /** How long stop() waits for in-flight resumes before releasing anyway. Default 10 s. */
  drainTimeoutMs?: number;
  /** Events handled concurrently per source. Default 512. */
  eventConcurrency?: number;
  eventSources?: EventSource[];
  /** Metrics instance, or the prom-client registry to register them on (default: the shared one). */
  metrics?: TriggererMetrics | Registry;
  id?: string;
  hooks?: TriggererTestHooks;
}

export class Triggerer {
  readonly id: string;
  private readonly store: Store;
  private readonly bus?: StateChangeBus;
  private readonly logger: Logger;
  private readonly capacity: number;
  private readonly heartbeatMs: number;
  private readonly pollIntervalMs: number;
  private readonly drainTimeoutMs: number;
  private readonly eventConcurrency: number;
  private readonly services: Services;
  private readonly metrics: TriggererMetrics;
  private readonly hooks: TriggererTestHooks;

  private readonly lifecycle = new Lifecycle();
  private readonly held: HeldTriggers;
  private readonly router: EventRouter;
  private readonly timers = new TimerHeap();
  private readonly tis: TaskInstanceTransitions;
  private readonly triggers: TriggerTransitions;
  private readonly rowDeletes: RowDeletes;
  private readonly resumes: ResumeBatches;
  private readonly dispatcher: EventDispatcher;
  private readonly ownership: TriggerOwnership;
  private readonly reconcilers: Reconciler[];

  private readonly sources: EventSource[] = [];
  private readonly sourceSubs = new Map<EventSource, Subscription>();
  private loops = new Subscription();
  private readonly inflight = new Set<Promise<unknown>>();
  /** The claim and heartbeat passes running now: stop() lets them end before it releases the leases. */
  private readonly loopPasses = new Set<Promise<unknown>>();
  private readonly claimWake$ = new Subject<void>();
  private claimRequested = false;
  /** Wakes the claim loop when another triggerer's lease runs out (prompt adoption). */
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(opts: TriggererOptions) {
    this.id = opts.id ?? `triggerer-${randomUUID()}`;
    this.store = opts.store;
    this.bus = opts.bus;
    this.logger = opts.logger.child({ component: 'triggerer', triggererId: this.id });
    this.capacity = opts.capacity ?? DEFAULTS.triggererCapacity;
    this.heartbeatMs = opts.heartbeatMs ?? 2_000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1_000;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 10_000;
    this.eventConcurrency = opts.eventConcurrency ?? 512;
    this.hooks = opts.hooks ?? {};
    const deferral = opts.deferral ?? composeDeferral();
    // taskLogs: triggers that copy into a deferred task's log (SageMaker print_log) write through it.
    this.services = { taskLogs: new TaskLogRepository(opts.store), ...deferral.services, ...(opts.services ?? {}) };
    this.metrics = opts.metrics instanceof TriggererMetrics ? opts.metrics : TriggererMetrics.for(opts.metrics);
    this.tis = new TaskInstanceTransitions(this.store, this.bus);
    this.triggers = new TriggerTransitions(this.store, this.bus);
    this.rowDeletes = new RowDeletes(this.triggers, this.logger);
    this.resumes = new ResumeBatches((items) => this.tis.resolveTriggers(items));
    this.router = new EventRouter(deferral.routingKeys);
    this.ownership = new TriggerOwnership({
      store: this.store,
      triggers: this.triggers,
      leases: new TriggerShardLeases(this.store),
      triggererId: this.id,
      capacity: this.capacity,
      leaseMs: opts.adoptAfterMs ?? 8_000,
      logger: this.logger,
      metrics: this.metrics,
      leasing: this.hooks.leasing,
    });
    this.held = new HeldTriggers({
      triggererId: this.id,
      capacity: this.capacity,
      resumes: this.resumes,
      rowDeletes: this.rowDeletes,
      kinds: deferral.triggerKinds,
      router: this.router,
      timers: this.timers,
      services: this.services,
      logger: this.logger,
      metrics: this.metrics,
      track: (p) => void this.trackInflight(p),
      fired: (keys) => this.dispatcher.noteFired(keys),
      roomFreed: () => {
        if (this.running()) this.requestClaim();
      },
      statusWriter: new StatusWriter(this.triggers, this.logger, (id) => this.held.isWaiting(id)),
    });
    this.dispatcher = new EventDispatcher({
      store: this.store,
      resumes: this.resumes,
      rowDeletes: this.rowDeletes,
      triggerKinds: deferral.triggerKinds,
      local: this.held,
      logger: this.logger,
      metrics: this.metrics,
      hooks: this.hooks,
    });
    this.reconcilers = deferral.reconcilers.map((make) =>
      make({
        dispatch: (e) => this.dispatcher.dispatchSynthetic(e),
        isWaitedOn: (k) => this.router.has(k),
        services: this.services,
        sweep: { intervalMs: opts.sweepIntervalMs, safetyMarginMs: opts.sweepSafetyMarginMs },
        logger: this.logger,
        metrics: this.metrics,
      }),
    );
    for (const r of this.reconcilers) Object.assign(this.services, r.services ?? {});
    for (const s of opts.eventSources ?? []) this.sources.push(s);
  }

  // ------------------------------------------------------------------ public surface

  get state(): LifecycleState {
    return this.lifecycle.state;
  }

  get state$(): Observable<LifecycleState> {
    return this.lifecycle.state$;
  }

  /** Triggers this triggerer holds right now (running, storing their outcome, or being deleted). */
  get heldTriggers(): number {
    return this.held.size;
  }

  /** Whether this triggerer holds the trigger (tests, `triggers list`). */
  holds(triggerId: string): boolean {
    return this.held.has(triggerId);
  }

  addEventSource(src: EventSource): void {
    this.sources.push(src);
    if (this.lifecycle.state === 'running') this.consume(src);
  }

  /** Add (or replace) a service triggers use. */
  provide<K extends keyof Services & string>(name: K, service: Services[K]): void {
    this.services[name] = service;
  }

  /** Run one reconcile sweep of every reconciler now (tests, CLI). */
  async sweepNow(): Promise<number> {
    let n = 0;
    for (const r of this.reconcilers) n += await r.sweepNow();
    return n;
  }

  /** Route an event through this triggerer as if a source delivered it; resolves once persisted. */
  async routeEvent(event: EventBridgeEvent): Promise<void> {
    await this.dispatcher.dispatch({ event, ack: () => Promise.resolve() }, 'direct');
  }

  async start(): Promise<void> {
    if (this.lifecycle.state !== 'created') {
      await this.lifecycle.when('running');
      return;
    }
    this.lifecycle.to('starting');
    try {
      await this.ownership.register();
    } catch (e) {
      this.lifecycle.to('draining');
      this.lifecycle.to('stopped');
      throw e;
    }
    this.lifecycle.to('running');
    this.logger.info({ capacity: this.capacity }, 'Triggerer started');
    this.startLoops();
    for (const s of this.sources) this.consume(s);
    for (const r of this.reconcilers) r.start();
  }

  /**
   * Graceful stop: stop claiming and consuming, cancel every wait (never the remote job), let
   * in-flight resumes persist (up to drainTimeoutMs), release the triggers for adoption, end the
   * job row.
   */
  async stop(): Promise<void> {
    if (this.lifecycle.state === 'created') {
      this.lifecycle.to('stopped');
      return;
    }
    if (this.lifecycle.state === 'starting') await this.lifecycle.when('running');
    if (this.lifecycle.state !== 'running') {
      await this.lifecycle.when('stopped');
      return;
    }
    this.lifecycle.to('draining');
    this.shutDownRunning();
    // A claim (or heartbeat) pass in flight could lease a shard after the release below and so
    // re-own rows just handed back: let it end first — it stops at its next step now that we are
    // draining. If it outlasts the drain timeout, the release fences it (a late lease is given back).
    const passes = await firstValueFrom(
      drainOrForce(
        defer(() => from(Promise.allSettled([...this.loopPasses]))),
        this.drainTimeoutMs,
      ),
    );
    if (passes === 'forced') this.logger.warn('A claim or heartbeat pass outlasted the drain timeout; releasing anyway (a lease it takes later is given back)');
    const how = await firstValueFrom(
      drainOrForce(
        defer(() => from(Promise.allSettled([...this.inflight]))),
        this.drainTimeoutMs,
      ),
    );
    if (how === 'forced')
      this.logger.warn({ inflight: this.inflight.size }, 'Drain timed out; releasing triggers with resumes still in flight (their guarded writes stay safe)');
    await this.rowDeletes.drain();
    try {
      const released = await this.ownership.releaseAll();
      this.logger.info({ shards: released }, 'Triggerer stopped; trigger shards released');
    } catch (e) {
      this.logger.error({ err: e }, 'Releasing triggers failed; they will be adopted once our heartbeat is stale');
    }
    this.held.dropAll('triggerer stopped');
    this.lifecycle.to('stopped');
  }

  /**
   * Stop at once without releasing triggers or ending the job row — what a crash (kill -9, lost
   * host) looks like to the other triggerers, which adopt the triggers after adoptAfterMs.
   * For tests and chaos drills.
   */
  async halt(): Promise<void> {
    if (this.lifecycle.state === 'created' || this.lifecycle.state === 'stopped') return;
    if (this.lifecycle.state === 'starting') await this.lifecycle.when('running');
    if (this.lifecycle.state !== 'running') return;
    this.lifecycle.to('draining');
    this.shutDownRunning();
    this.held.dropAll('triggerer halted');
    this.lifecycle.to('stopped');
  }

  // ------------------------------------------------------------------ loops

  private startLoops(): void {
    this.loops = new Subscription();
    // Claim: on a timer, and at once when a trigger is created in this process.
    this.loops.add(
      merge(timer(0, this.pollIntervalMs), this.claimWake$)
        .pipe(exhaustMap(() => from(this.pass(this.claimAll()))))
        .subscribe(),
    );
    this.loops.add(
      timer(this.heartbeatMs, this.heartbeatMs)
        .pipe(exhaustMap(() => from(this.pass(this.heartbeatAndCheckOwnership()))))
        .subscribe(),
    );
    this.loops.add(
      timer(this.pollIntervalMs, this.pollIntervalMs)
        .pipe(exhaustMap(() => from(this.maintenance())))
        .subscribe(),
    );
    if (this.bus) this.loops.add(this.bus.changes$.subscribe((c) => this.onBusChange(c)));
  }

  private consume(src: EventSource): void {
    if (this.sourceSubs.has(src)) return;
    const sub = defer(() => src.events$)
      .pipe(
        mergeMap((incoming) => this.trackInflight(this.dispatcher.dispatch(incoming, src.name, performance.now())), this.eventConcurrency),
        retry({
          delay: (err: unknown, count: number) => {
            const ms = backoffDelayMs(count, { baseMs: 500, maxMs: 30_000 });
            this.logger.error({ err, source: src.name, retryInMs: ms }, 'Event source failed; resubscribing');
            return timer(ms);
          },
        }),
      )
      .subscribe({ complete: () => this.logger.info({ source: src.name }, 'Event source completed') });
    this.sourceSubs.set(src, sub);
  }

  /** Stop claiming, consuming and sweeping; cancel every wait. In-flight outcomes keep storing. */
  private shutDownRunning(): void {
    this.loops.unsubscribe();
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    for (const s of this.sourceSubs.values()) s.unsubscribe();
    this.sourceSubs.clear();
    for (const r of this.reconcilers) r.stop();
    // The remote jobs keep running and the next owner picks the triggers up. A trigger that held
    // an event's delivery will never decide now: dropping it hands that event back.
    this.held.stopWaiting('triggerer stopping');
    this.timers.stop();
  }

  private trackInflight<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = (): void => void this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /** A claim or heartbeat pass, tracked until it ends (unsubscribing a loop does not stop a pass already running). */
  private pass<T>(p: Promise<T>): Promise<T> {
    this.loopPasses.add(p);
    const done = (): void => void this.loopPasses.delete(p);
    p.then(done, done);
    return p;
  }

  private running(): boolean {
    return this.lifecycle.state === 'running';
  }

  // ------------------------------------------------------------------ claiming

  private requestClaim(): void {
    this.claimRequested = true;
    this.claimWake$.next();
  }

  private async claimAll(): Promise<void> {
    try {
      do {
        this.claimRequested = false;
        if (!this.running()) return;
        const changes = await this.ownership.claim(
          this.held.view(),
          (rows) => this.adoptRows(rows),
          () => this.running(),
        );
        this.held.dropShards(changes.dropShards, 'shard no longer held here');
      } while (this.claimRequested && this.running());
    } catch (e) {
      this.logger.warn({ err: e }, 'Claiming triggers failed; retrying on the next poll');
    }
    this.armExpiryWake();
  }

  /** Rows of shards now ours: run them (or delete orphans). */
  private async adoptRows(rows: OwnedRow[]): Promise<void> {
    const fresh = rows.filter((r) => !this.held.has(r.doc._id));
    if (fresh.length === 0) return;
    if (this.hooks.claimed) await this.hooks.claimed(fresh.map((r) => r.doc._id));
    if (!this.running()) return; // stopping: the release covers what we just claimed
    // A shard lost meanwhile (our lease ran out and another triggerer took it) is not ours to start.
    const still = fresh.filter((r) => this.ownership.runsShardOf(r.doc));
    if (still.length === 0) return;
    this.held.adopt(still);
    this.logger.debug({ claimed: still.length, held: this.held.size }, 'Claimed triggers');
  }

  /** Wake the claim loop just after the earliest lease of another triggerer runs out. */
  private armExpiryWake(): void {
    if (!this.running()) return;
    const at = this.ownership.nextForeignExpiry();
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (at === null) return;
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = null;
        if (this.running()) this.requestClaim();
      },
      Math.max(0, at - Date.now() + 5),
    );
    this.expiryTimer.unref();
  }

  // ------------------------------------------------------------------ upkeep

  private onBusChange(c: StateChange): void {
    if (c.kind === 'trigger') {
      if (c.action === 'created') this.requestClaim();
      // Someone deleted it (fired elsewhere, task cleared). A 'claimed' by another triggerer is
      // left to the ownership check, which reads who really owns the row.
      else if (c.action === 'deleted' || c.action === 'fired') this.held.goneElsewhere(c.trigger_id, c.action);
      return;
    }
    if (c.kind === 'task_instance') this.held.taskChanged(c.ti);
  }

  private async heartbeatAndCheckOwnership(): Promise<void> {
    if (!this.running()) return;
    try {
      const changes = await this.ownership.heartbeat(this.held.view());
      if (this.running()) this.held.dropShards(changes.dropShards, 'shard handed over or taken over');
      this.metrics.triggersHeld.set({ triggerer_id: this.id }, this.held.size);
    } catch (e) {
      this.logger.warn({ err: e }, 'Heartbeat failed');
    }
    try {
      await this.checkOwnership();
    } catch (e) {
      this.logger.warn({ err: e }, 'Ownership check failed');
    }
    this.armExpiryWake();
  }

  /** Rows in our shards we do not run are started; triggers whose rows vanished are stopped (see ownership.ts). */
  private async checkOwnership(): Promise<void> {
    const r = await this.ownership.check(this.held.view());
    if (!r || !this.running()) return;
    this.held.vanished(r.vanished);
    this.held.adopt(r.missing);
  }

  private async maintenance(): Promise<void> {
    if (!this.running()) return;
    try {
      await this.held.retryPending(() => this.running());
      for (const ti of await this.ownership.changedTasks(this.held.watchingTasks)) this.held.taskChanged(ti);
    } catch (e) {
      this.logger.warn({ err: e }, 'Triggerer maintenance failed');
    }
  }
}
