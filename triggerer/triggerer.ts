/**
 * The triggerer process shell: wires the parts and runs the loops. It claims trigger rows up to
 * its capacity, runs each as an Observable, resumes (or fails) the deferred task when it fires,
 * heartbeats, and adopts the triggers of triggerers whose heartbeat stopped.
 *
 * Where each concern lives:
 *   held-trigger.ts      one held trigger's life, as a state machine with one teardown;
 *   ownership.ts         claim / adopt / heartbeat / lost rows / orphans / release;
 *   routing/             router, dispatcher and the explicit Delivery of each event;
 *   sources/             SQS, push and observable event sources;
 *   timer-heap.ts        deadlines and DateTime triggers on one armed timer;
 *   outcome.ts           the guarded resume (or __fail__) of a decided trigger;
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
import type { TriggerDoc } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import { TaskInstanceTransitions } from '../src/store/transitions/task-instance-transitions.ts';
import { TriggerTransitions } from '../src/store/transitions/trigger-transitions.ts';
import { composeDeferral, type Deferral, type Reconciler } from '../src/triggers/deferral-provider.ts';
import { backoffDelayMs } from '../src/util/backoff.ts';
import { HeldTrigger, type DecidedOutcome, type HeldTriggerHost, type HeldTriggerState } from './held-trigger.ts';
import { Lifecycle, drainOrForce, type LifecycleState } from './lifecycle.ts';
import { isOrphanTrigger, persistTriggerOutcome, type PersistResult } from './outcome.ts';
import { TriggerOwnership, type OwnedRow, type TaskRow } from './ownership.ts';
import type { Delivery } from './routing/delivery.ts';
import { EventDispatcher, type DispatcherTestHooks, type LocalTriggers } from './routing/event-dispatcher.ts';
import { EventRouter, type RouteResult } from './routing/event-router.ts';
import type { EventSource } from './sources/event-source.ts';
import { TimerHeap } from './timer-heap.ts';
import { RunContext } from './trigger-run-context.ts';

/** Test hooks that widen race windows; never set in production. */
export interface TriggererTestHooks extends DispatcherTestHooks {
  /** After rows were claimed (their owner written), before their triggers start here. */
  claimed?(triggerIds: string[]): Promise<void>;
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
  /** A triggerer whose heartbeat is older than this is dead; its triggers are adopted. Default 10 s. */
  adoptAfterMs?: number;
  /** Triggers claimed per query. Default 1000. */
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

export class Triggerer implements LocalTriggers {
  readonly id: string;
  private readonly store: Store;
  private readonly bus?: StateChangeBus;
  private readonly logger: Logger;
  private readonly capacity: number;
  private readonly heartbeatMs: number;
  private readonly claimBatchSize: number;
  private readonly pollIntervalMs: number;
  private readonly drainTimeoutMs: number;
  private readonly eventConcurrency: number;
  private readonly services: Services;
  private readonly metrics: TriggererMetrics;
  private readonly hooks: TriggererTestHooks;

  private readonly lifecycle = new Lifecycle();
  private readonly held = new Map<string, HeldTrigger>();
  private readonly byTi = new Map<string, string>();
  private readonly pending = new Set<HeldTrigger>();
  private readonly router: EventRouter;
  private readonly timers = new TimerHeap();
  private readonly tis: TaskInstanceTransitions;
  private readonly triggers: TriggerTransitions;
  private readonly dispatcher: EventDispatcher;
  private readonly ownership: TriggerOwnership;
  private readonly reconcilers: Reconciler[];
  private readonly heldHost: HeldTriggerHost;

  private readonly sources: EventSource[] = [];
  private readonly sourceSubs = new Map<EventSource, Subscription>();
  private loops = new Subscription();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly claimWake$ = new Subject<void>();
  private claimRequested = false;

  constructor(opts: TriggererOptions) {
    this.id = opts.id ?? `triggerer-${randomUUID()}`;
    this.store = opts.store;
    this.bus = opts.bus;
    this.logger = opts.logger.child({ component: 'triggerer', triggererId: this.id });
    this.capacity = opts.capacity ?? 10_000;
    this.heartbeatMs = opts.heartbeatMs ?? 2_000;
    this.claimBatchSize = opts.claimBatch ?? 1_000;
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
    this.router = new EventRouter(deferral.routingKeys);
    this.ownership = new TriggerOwnership({
      store: this.store,
      triggers: this.triggers,
      triggererId: this.id,
      capacity: this.capacity,
      adoptAfterMs: opts.adoptAfterMs ?? 10_000,
      logger: this.logger,
      metrics: this.metrics,
    });
    this.dispatcher = new EventDispatcher({
      store: this.store,
      tis: this.tis,
      triggers: this.triggers,
      triggerKinds: deferral.triggerKinds,
      local: this,
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
    this.heldHost = this.makeHeldHost(deferral);
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
    const how = await firstValueFrom(
      drainOrForce(
        defer(() => from(Promise.allSettled([...this.inflight]))),
        this.drainTimeoutMs,
      ),
    );
    if (how === 'forced')
      this.logger.warn({ inflight: this.inflight.size }, 'Drain timed out; releasing triggers with resumes still in flight (their guarded writes stay safe)');
    try {
      const released = await this.ownership.releaseAll();
      this.logger.info({ released }, 'Triggerer stopped; triggers released');
    } catch (e) {
      this.logger.error({ err: e }, 'Releasing triggers failed; they will be adopted once our heartbeat is stale');
    }
    this.dropAll('triggerer stopped');
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
    this.dropAll('triggerer halted');
    this.lifecycle.to('stopped');
  }

  // ------------------------------------------------------------------ LocalTriggers (the dispatcher's view)

  route(event: EventBridgeEvent, delivery: Delivery): RouteResult {
    return this.router.route(event, this.router.keysOf(event), delivery);
  }

  offer(triggerId: string, event: EventBridgeEvent, keys: string[], delivery: Delivery): 'offered' | 'not-held' {
    const h = this.held.get(triggerId);
    if (!h) return 'not-held';
    // Running: hand it the event through its own subscriptions (it started after the event was
    // routed). Otherwise its state machine says what the event waits for.
    if (h.state === 'running') this.router.routeTo(triggerId, event, keys, delivery);
    else h.offer(delivery, () => undefined);
    return 'offered';
  }

  // ------------------------------------------------------------------ loops

  private startLoops(): void {
    this.loops = new Subscription();
    // Claim: on a timer, and at once when a trigger is created in this process.
    this.loops.add(
      merge(timer(0, this.pollIntervalMs), this.claimWake$)
        .pipe(exhaustMap(() => from(this.claimAll())))
        .subscribe(),
    );
    this.loops.add(
      timer(this.heartbeatMs, this.heartbeatMs)
        .pipe(exhaustMap(() => from(this.heartbeatAndCheckOwnership())))
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
    for (const s of this.sourceSubs.values()) s.unsubscribe();
    this.sourceSubs.clear();
    for (const r of this.reconcilers) r.stop();
    // The remote jobs keep running and the next owner picks the triggers up. A trigger that held
    // an event's delivery will never decide now: dropping it hands that event back.
    for (const h of [...this.held.values()]) if (h.state !== 'persisting' && h.state !== 'deleting') h.drop('triggerer stopping');
    this.timers.stop();
  }

  private dropAll(reason: string): void {
    for (const h of [...this.held.values()]) h.drop(reason);
    this.metrics.triggersHeld.remove({ triggerer_id: this.id });
  }

  private trackInflight<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = (): void => void this.inflight.delete(p);
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
        while (this.running()) {
          const room = this.capacity - this.held.size;
          if (room <= 0) break;
          const want = Math.min(room, this.claimBatchSize);
          const seen = await this.claimBatch(want);
          if (seen < want) break;
        }
      } while (this.claimRequested && this.running());
    } catch (e) {
      this.logger.warn({ err: e }, 'Claiming triggers failed; retrying on the next poll');
    }
  }

  /** One batch: returns how many candidates it saw (a full batch means: look again). */
  private async claimBatch(limit: number): Promise<number> {
    const { seen, won } = await this.ownership.claim(limit, (id) => this.held.has(id));
    if (won.length === 0) return seen;
    if (this.hooks.claimed) await this.hooks.claimed(won.map((r) => r.doc._id));
    if (!this.running()) return 0; // stopping: the release covers what we just claimed
    this.adopt(won);
    this.logger.debug({ claimed: won.length, held: this.held.size }, 'Claimed triggers');
    return seen;
  }

  /** Rows now ours: run them, or delete them as orphans (task cleared, marked, gone). */
  private adopt(rows: OwnedRow[]): void {
    for (const { doc, orphan } of rows) {
      if (this.held.has(doc._id) || !this.running()) continue;
      const h = this.hold(doc);
      if (orphan) h.orphan();
      else h.start();
    }
    this.metrics.triggersHeld.set({ triggerer_id: this.id }, this.held.size);
  }

  private hold(doc: TriggerDoc): HeldTrigger {
    const h = new HeldTrigger(this.heldHost, doc);
    this.held.set(h.id, h);
    this.byTi.set(h.tiId, h.id);
    return h;
  }

  private makeHeldHost(deferral: Deferral): HeldTriggerHost {
    const runHost = { logger: this.logger, router: this.router, timers: this.timers, services: this.services };
    return {
      kinds: deferral.triggerKinds,
      timers: this.timers,
      logger: this.logger,
      runContext: (h, doc) => new RunContext(runHost, h, doc.deadline, doc.created_at),
      persist: (h, outcome) =>
        persistTriggerOutcome({ store: this.store, tis: this.tis, triggers: this.triggers }, { _id: h.id, task_instance_id: h.tiId }, outcome),
      deleteRow: (h) => this.ownership.deleteOrphan(h.id),
      track: (p) => void this.trackInflight(p),
      stored: (h, decided, result) => this.onStored(h, decided, result),
      entered: (h, state) => this.onEntered(h, state),
    };
  }

  private onStored(h: HeldTrigger, decided: DecidedOutcome, result: PersistResult): void {
    if (result.result !== 'resumed') return;
    if (decided.ingestedAt !== null) this.metrics.eventResumeLatency.observe((performance.now() - decided.ingestedAt) / 1000);
    this.metrics.resumed.inc({ outcome: decided.how });
    this.dispatcher.noteFired(h.routingKeys);
    if (decided.outcome.type === 'failure')
      this.logger.warn({ triggerId: h.id, ti: h.tiId, error: decided.outcome.error }, 'Trigger failed; task resumed into __fail__');
    else this.logger.debug({ triggerId: h.id, ti: h.tiId }, 'Trigger fired; task resumed');
  }

  private onEntered(h: HeldTrigger, state: HeldTriggerState): void {
    if (state === 'pending-retry') this.pending.add(h);
    else this.pending.delete(h);
    if (state !== 'dropped') return;
    if (this.held.get(h.id) === h) this.held.delete(h.id);
    if (this.byTi.get(h.tiId) === h.id) this.byTi.delete(h.tiId);
    this.metrics.triggersHeld.set({ triggerer_id: this.id }, this.held.size);
    if (this.running() && this.held.size === this.capacity - 1) this.requestClaim();
  }

  /** The trigger is no longer ours to run (deleted, adopted, task moved on): unsubscribe it. */
  private cancel(h: HeldTrigger, reason: string): void {
    this.logger.info({ triggerId: h.id, ti: h.tiId, reason }, 'Cancelled a trigger (its remote job is untouched)');
    h.drop(reason);
  }

  // ------------------------------------------------------------------ upkeep

  private onBusChange(c: StateChange): void {
    if (c.kind === 'trigger') {
      if (c.action === 'created') {
        this.requestClaim();
        return;
      }
      const h = this.held.get(c.trigger_id);
      if (!h?.waiting) return;
      // Someone deleted it (fired elsewhere, task cleared). A 'claimed' by another triggerer is
      // left to the ownership check, which reads who really owns the row.
      if (c.action === 'deleted' || c.action === 'fired') this.cancel(h, `trigger ${c.action} elsewhere`);
      return;
    }
    if (c.kind === 'task_instance') this.checkTask(c.ti);
  }

  private checkTask(ti: TaskRow): void {
    const triggerId = this.byTi.get(ti._id);
    const h = triggerId ? this.held.get(triggerId) : undefined;
    if (!h?.waiting || !isOrphanTrigger(h.id, ti)) return;
    this.logger.info({ triggerId: h.id, ti: h.tiId, state: ti.state }, 'Task no longer deferred on this trigger; deleting it (its remote job is untouched)');
    h.orphan();
  }

  private async heartbeatAndCheckOwnership(): Promise<void> {
    if (!this.running()) return;
    try {
      await this.ownership.heartbeat(this.held.size);
      this.metrics.triggersHeld.set({ triggerer_id: this.id }, this.held.size);
    } catch (e) {
      this.logger.warn({ err: e }, 'Heartbeat failed');
    }
    try {
      await this.checkOwnership();
    } catch (e) {
      this.logger.warn({ err: e }, 'Ownership check failed');
    }
  }

  /** Rows we run but no longer own are dropped; rows we own but do not run are started (see ownership.ts). */
  private async checkOwnership(): Promise<void> {
    let waitingCount = 0;
    const settlingIds: string[] = [];
    for (const h of this.held.values()) {
      if (h.waiting) waitingCount++;
      else settlingIds.push(h.id);
    }
    const r = await this.ownership.check({ waitingCount, settlingIds, isHeld: (id) => this.held.has(id) });
    if (!r || !this.running()) return;
    for (const h of [...this.held.values()]) {
      if (r.owned.has(h.id)) continue;
      if (h.waiting) this.cancel(h, 'trigger deleted or adopted by another triggerer');
      else if (h.state === 'pending-retry') h.drop('its row is gone: nothing left to resume through it');
    }
    this.adopt(r.found);
  }

  private async maintenance(): Promise<void> {
    if (!this.running()) return;
    try {
      for (const h of [...this.pending]) {
        if (!this.running()) break;
        await h.retry();
      }
      for (const ti of await this.ownership.changedTasks(this.byTi.size > 0)) this.checkTask(ti);
    } catch (e) {
      this.logger.warn({ err: e }, 'Triggerer maintenance failed');
    }
  }
}
