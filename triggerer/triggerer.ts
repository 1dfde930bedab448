/**
 * The triggerer process: claims trigger rows up to its capacity, runs each as an Observable,
 * resumes (or fails) the deferred task when it fires, heartbeats, and adopts the triggers of
 * triggerers whose heartbeat stopped.
 *
 * Scale rules (100k triggers on one process):
 *   - events come from shared sources (one consumer per source) routed by key in O(1);
 *   - deadlines and DateTime triggers share one timer heap (one armed timer);
 *   - no per-trigger polling: ownership is checked with one count query per heartbeat, task
 *     changes with one `updated_at` range query per poll (plus the in-process bus at once), and
 *     SageMaker jobs with batched List sweeps.
 * Safety rules:
 *   - every ownership change is a guarded update naming the owner we saw, so a trigger never has
 *     two owners by claim; a partitioned triggerer that lost a trigger drops it on its next check,
 *     and even if both fire, the resume is guarded (deferred + trigger id) so only one takes effect;
 *   - stopping releases triggers and cancels waits, never the remote jobs.
 */
import { randomUUID } from 'node:crypto';
import { Subject, Subscription, defer, exhaustMap, firstValueFrom, from, merge, mergeMap, retry, timer, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DeferflowError, errorMessage } from '../src/errors/deferflow-error.ts';
import type { Store } from '../src/store/store.ts';
import type { StateChange, StateChangeBus } from '../src/store/state-change-bus.ts';
import type { TaskInstanceDoc, TriggerDoc } from '../src/store/schema.ts';
import { TaskInstanceTransitions } from '../src/store/transitions/task-instance-transitions.ts';
import { TriggerTransitions } from '../src/store/transitions/trigger-transitions.ts';
import { TASK_LOGS_SERVICE, TaskLogRepository } from '../src/store/repositories/task-log-repository.ts';
import { EventRouter } from '../src/events/event-router.ts';
import { EventDispatcher } from '../src/events/event-dispatcher.ts';
import type { EventSource } from '../src/events/event-source.ts';
import type { EventBridgeEvent } from '../src/events/eventbridge-event.ts';
import { backoffDelayMs } from '../src/events/backoff.ts';
import { TriggererMetrics } from '../src/metrics/triggerer-metrics.ts';
import '../src/triggers/builtin.ts';
import { getTriggerKind, registeredTriggerKinds } from '../src/triggers/registry.ts';
import { isOrphanTrigger, persistTriggerOutcome, type TriggerOutcome } from '../src/triggers/trigger-outcome.ts';
import { AWS_CLIENTS_SERVICE, type AwsClients } from '../src/triggers/aws-clients.ts';
import { SAGEMAKER_WATCHER_SERVICE } from '../src/triggers/sagemaker-watcher.ts';
import { Lifecycle, drainOrForce, type LifecycleState } from './lifecycle.ts';
import { TimerHeap, type TimerHandle } from './timer-heap.ts';
import { SageMakerReconciler } from './reconciler.ts';
import { TriggererJob } from './triggerer-job.ts';
import { RunContext, type RunContextHost } from './trigger-run-context.ts';

export interface TriggererOptions {
  store: Store;
  bus?: StateChangeBus;
  logger: Logger;
  /** Most triggers held at once. Default 100 000. */
  capacity?: number;
  /** Heartbeat (and ownership check) period. Default 2 s. */
  heartbeatMs?: number;
  /** A triggerer whose heartbeat is older than this is dead; its triggers are adopted. Default 10 s. */
  adoptAfterMs?: number;
  /** Triggers claimed per query. Default 1000. */
  claimBatch?: number;
  /** Claim / task-change poll period (in-process changes wake it at once). Default 1 s. */
  pollIntervalMs?: number;
  /** SageMaker reconcile sweep period. Default 60 s. */
  sweepIntervalMs?: number;
  /** Safety margin subtracted from the previous sweep's start. Default 120 s. */
  sweepSafetyMarginMs?: number;
  /** How long stop() waits for in-flight resumes before releasing anyway. Default 10 s. */
  drainTimeoutMs?: number;
  /** Events handled concurrently per source. Default 512. */
  eventConcurrency?: number;
  eventSources?: EventSource[];
  /** Named services for triggers (e.g. `awsClients`). */
  services?: Record<string, unknown>;
  /** Metrics instance, or the prom-client registry to register them on (default: the shared one). */
  metrics?: TriggererMetrics | Registry;
  id?: string;
}

interface PendingOutcome {
  outcome: TriggerOutcome;
  how: 'event' | 'failure' | 'timeout';
  ingestedAt: number | null;
}

interface HeldTrigger {
  id: string;
  tiId: string;
  routingKeys: string[];
  sub: Subscription | null;
  deadlineTimer: TimerHandle | null;
  /** The trigger decided (fired, failed, timed out); its outcome is being persisted. */
  settled: boolean;
  /** Outcome waiting for a retry (task mid-deferral, or MongoDB unavailable). */
  pending: PendingOutcome | null;
  retrying: boolean;
  /** An event delivery waiting for this trigger's (asynchronous) outcome to be persisted. */
  deliveryHold?: DeliveryHold | null;
}

/** See TriggerRunContext.holdDelivery: the ack of the event in delivery waits on `promise`. */
interface DeliveryHold {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
  ingestedAt: number | null;
}

export class Triggerer {
  readonly id: string;
  private readonly store: Store;
  private readonly bus?: StateChangeBus;
  private readonly logger: Logger;
  private readonly capacity: number;
  private readonly heartbeatMs: number;
  private readonly adoptAfterMs: number;
  private readonly claimBatchSize: number;
  private readonly pollIntervalMs: number;
  private readonly drainTimeoutMs: number;
  private readonly eventConcurrency: number;
  private readonly services: Record<string, unknown>;
  private readonly metrics: TriggererMetrics;

  private readonly lifecycle = new Lifecycle();
  private readonly held = new Map<string, HeldTrigger>();
  private readonly byTi = new Map<string, string>();
  private readonly pending = new Set<HeldTrigger>();
  /** Rows we are deleting as orphans: owned by us until the delete lands, but not to be run. */
  private readonly dropping = new Set<string>();
  private readonly router = new EventRouter();
  private readonly timers = new TimerHeap();
  private readonly tis: TaskInstanceTransitions;
  private readonly triggers: TriggerTransitions;
  private readonly dispatcher: EventDispatcher;
  private readonly reconciler: SageMakerReconciler;
  private readonly job: TriggererJob;
  private readonly host: RunContextHost;

  private readonly sources: EventSource[] = [];
  private readonly sourceSubs = new Map<EventSource, Subscription>();
  private loops = new Subscription();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly claimWake$ = new Subject<void>();
  private claimRequested = false;
  private tiCursor: Date | null = null;

  constructor(opts: TriggererOptions) {
    this.id = opts.id ?? `triggerer-${randomUUID()}`;
    this.store = opts.store;
    this.bus = opts.bus;
    this.logger = opts.logger.child({ component: 'triggerer', triggererId: this.id });
    this.capacity = opts.capacity ?? 100_000;
    this.heartbeatMs = opts.heartbeatMs ?? 2_000;
    this.adoptAfterMs = opts.adoptAfterMs ?? 10_000;
    this.claimBatchSize = opts.claimBatch ?? 1_000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1_000;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 10_000;
    this.eventConcurrency = opts.eventConcurrency ?? 512;
    // taskLogs: triggers that copy into a deferred task's log (SageMaker print_log) write through it.
    this.services = { [TASK_LOGS_SERVICE]: new TaskLogRepository(opts.store), ...(opts.services ?? {}) };
    this.metrics = opts.metrics instanceof TriggererMetrics ? opts.metrics : TriggererMetrics.for(opts.metrics);
    this.tis = new TaskInstanceTransitions(this.store, this.bus);
    this.triggers = new TriggerTransitions(this.store, this.bus);
    this.job = new TriggererJob(this.store, this.id, this.capacity);
    this.dispatcher = new EventDispatcher({
      store: this.store,
      tis: this.tis,
      triggers: this.triggers,
      router: this.router,
      logger: this.logger,
      metrics: this.metrics,
      isHeld: (id) => this.held.has(id),
    });
    this.reconciler = new SageMakerReconciler({
      awsClients: () => this.services[AWS_CLIENTS_SERVICE] as AwsClients | undefined,
      dispatch: (e) => this.dispatcher.dispatchSynthetic(e),
      isHeldKey: (k) => this.router.has(k),
      logger: this.logger,
      metrics: this.metrics,
      sweepIntervalMs: opts.sweepIntervalMs,
      safetyMarginMs: opts.sweepSafetyMarginMs,
    });
    this.host = {
      logger: this.logger,
      eventsFor: (key) => this.router.eventsFor(key),
      service: <T>(name: string): T => this.service<T>(name),
      at: (moment) => this.timers.at(moment),
      holdDelivery: (triggerId) => this.holdDelivery(triggerId),
    };
    for (const s of opts.eventSources ?? []) this.sources.push(s);
  }

  // ------------------------------------------------------------------ public surface

  get state(): LifecycleState {
    return this.lifecycle.state;
  }

  get state$(): Observable<LifecycleState> {
    return this.lifecycle.state$;
  }

  /** Triggers this triggerer holds right now (running or persisting their outcome). */
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

  /** Register a named service triggers may look up (e.g. `awsClients`). */
  provide(name: string, service: unknown): void {
    this.services[name] = service;
  }

  /** Run one reconcile sweep of every SageMaker group now (tests, CLI). */
  sweepNow(): Promise<number> {
    return this.reconciler.sweepAll();
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
      await this.job.register();
    } catch (e) {
      this.lifecycle.to('draining');
      this.lifecycle.to('stopped');
      throw e;
    }
    this.lifecycle.to('running');
    this.logger.info({ capacity: this.capacity, adoptAfterMs: this.adoptAfterMs }, 'Triggerer started');
    this.startLoops();
    for (const s of this.sources) this.consume(s);
    this.reconciler.start();
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
      const released = await this.triggers.releaseAll(this.id);
      await this.job.end('success');
      this.logger.info({ released }, 'Triggerer stopped; triggers released');
    } catch (e) {
      this.logger.error({ err: e }, 'Releasing triggers failed; they will be adopted once our heartbeat is stale');
    }
    this.forgetAll();
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
    this.forgetAll();
    this.lifecycle.to('stopped');
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

  private shutDownRunning(): void {
    this.loops.unsubscribe();
    for (const s of this.sourceSubs.values()) s.unsubscribe();
    this.sourceSubs.clear();
    this.reconciler.stop();
    // Cancel the waits; the remote jobs keep running and the next owner picks the triggers up.
    for (const h of this.held.values()) {
      h.sub?.unsubscribe();
      h.sub = null;
      h.deadlineTimer?.cancel();
      h.deadlineTimer = null;
      // A trigger that held an event's delivery will never emit now: nack it for redelivery.
      h.deliveryHold?.reject(new Error(`triggerer stopping before trigger ${h.id} fired`));
      h.deliveryHold = null;
    }
    this.timers.stop();
  }

  private forgetAll(): void {
    this.held.clear();
    this.byTi.clear();
    this.pending.clear();
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
    const now = new Date();
    const alive = await this.job.aliveIds(this.adoptAfterMs, now);
    const candidates = await this.store.triggers.find({ triggerer_id: { $nin: alive } }, { limit }).toArray();
    if (candidates.length === 0 || !this.running()) return 0;
    const byOwner = new Map<string | null, string[]>();
    for (const c of candidates) {
      const list = byOwner.get(c.triggerer_id) ?? [];
      list.push(c._id);
      byOwner.set(c.triggerer_id, list);
    }
    const won = new Set<string>();
    for (const [owner, ids] of byOwner) {
      const mine = await this.triggers.claim(ids, owner, this.id, now);
      for (const id of mine) won.add(id);
      if (owner !== null && mine.length > 0) {
        this.logger.warn({ from: owner, count: mine.length }, 'Adopted triggers of a triggerer whose heartbeat stopped');
        this.metrics.triggersClaimed.inc({ triggerer_id: this.id, how: 'adopted' }, mine.length);
      } else if (mine.length > 0) {
        this.metrics.triggersClaimed.inc({ triggerer_id: this.id, how: 'unowned' }, mine.length);
      }
    }
    const claimed = candidates.filter((c) => won.has(c._id) && !this.held.has(c._id));
    if (claimed.length === 0) return candidates.length;
    // Orphans (task cleared, marked, gone) are deleted instead of run.
    const tiRows = await this.store.taskInstances
      .find({ _id: { $in: [...new Set(claimed.map((c) => c.task_instance_id))] } }, { projection: { state: 1, trigger_id: 1 } })
      .toArray();
    const tiById = new Map(tiRows.map((t) => [t._id, t]));
    if (!this.running()) return 0; // stopping: the release covers what we just claimed
    for (const c of claimed) {
      if (isOrphanTrigger(c._id, tiById.get(c.task_instance_id))) {
        this.deleteOrphan(c._id);
        continue;
      }
      this.startTrigger(c);
    }
    this.metrics.triggersHeld.set({ triggerer_id: this.id }, this.held.size);
    this.logger.debug({ claimed: claimed.length, held: this.held.size }, 'Claimed triggers');
    return candidates.length;
  }

  // ------------------------------------------------------------------ running triggers

  private startTrigger(doc: TriggerDoc): void {
    const h: HeldTrigger = {
      id: doc._id,
      tiId: doc.task_instance_id,
      routingKeys: doc.routing_keys ?? [],
      sub: null,
      deadlineTimer: null,
      settled: false,
      pending: null,
      retrying: false,
    };
    this.held.set(h.id, h);
    this.byTi.set(h.tiId, h.id);
    const fail = (error: string): void => this.settle(h, { type: 'failure', error }, 'failure');
    const kind = getTriggerKind(doc.kind);
    if (!kind) {
      fail(`Unknown trigger kind '${doc.kind}' (registered: ${registeredTriggerKinds().join(', ') || 'none'})`);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(doc.kwargs);
    } catch (e) {
      fail(`Trigger kwargs of '${doc.kind}' are not valid JSON: ${errorMessage(e)}`);
      return;
    }
    const parsed = kind.schema.safeParse(raw);
    if (!parsed.success) {
      fail(`Invalid kwargs for trigger kind '${doc.kind}': ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
      return;
    }
    if (doc.deadline) {
      if (doc.deadline.getTime() <= Date.now()) {
        this.settle(h, { type: 'failure', error: 'Trigger timeout', kind: 'trigger_timeout' }, 'timeout');
        return;
      }
      h.deadlineTimer = this.timers.schedule(doc.deadline.getTime(), () =>
        this.settle(h, { type: 'failure', error: 'Trigger timeout', kind: 'trigger_timeout' }, 'timeout'),
      );
    }
    let run$: Observable<{ payload: unknown }>;
    try {
      run$ = kind.run(parsed.data, new RunContext(this.host, h.id, doc.deadline, doc.created_at));
    } catch (e) {
      fail(`Trigger failed to start: ${errorMessage(e)}`);
      return;
    }
    // No take(1) layer (memory at 100k): settle() ignores anything after the first event.
    const sub = run$.subscribe({
      next: (te) => this.settle(h, { type: 'event', payload: te.payload }, 'event'),
      error: (e: unknown) => fail(`Trigger failed: ${errorMessage(e)}`),
      complete: () => {
        if (!h.settled) fail('Trigger completed without firing an event');
      },
    });
    if (h.settled) sub.unsubscribe();
    else h.sub = sub;
  }

  /**
   * A trigger will emit later for the event being delivered now: make that event's ack wait for
   * the trigger's persisted outcome (settle resolves the hold; drop rejects it → redelivery).
   */
  private holdDelivery(triggerId: string): void {
    const h = this.held.get(triggerId);
    if (!h || h.settled || h.deliveryHold) return;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined); // observed by the dispatcher; never an unhandled rejection
    h.deliveryHold = { promise, resolve, reject, ingestedAt: this.dispatcher.currentIngestedAt };
    this.dispatcher.track(promise);
  }

  /** The trigger decided: stop waiting and persist the outcome (tracked for the event's ack). */
  private settle(h: HeldTrigger, outcome: TriggerOutcome, how: PendingOutcome['how']): void {
    if (h.settled) return;
    h.settled = true;
    h.sub?.unsubscribe();
    h.sub = null;
    h.deadlineTimer?.cancel();
    h.deadlineTimer = null;
    const hold = h.deliveryHold ?? null;
    h.deliveryHold = null;
    const ingestedAt = this.dispatcher.currentIngestedAt ?? hold?.ingestedAt ?? null;
    const p = this.trackInflight(this.persist(h, { outcome, how, ingestedAt }));
    p.catch(() => undefined); // retried by maintenance; the event (if any) is nacked by the dispatcher
    this.dispatcher.track(p);
    if (hold) p.then(hold.resolve, hold.reject);
  }

  private async persist(h: HeldTrigger, po: PendingOutcome): Promise<void> {
    let r;
    try {
      r = await persistTriggerOutcome({ store: this.store, tis: this.tis, triggers: this.triggers }, { _id: h.id, task_instance_id: h.tiId }, po.outcome);
    } catch (e) {
      this.logger.warn({ err: e, triggerId: h.id }, 'Persisting a trigger outcome failed; retrying');
      this.setPending(h, po);
      throw e;
    }
    if (r.result === 'not-deferred-yet') {
      this.setPending(h, po);
      return;
    }
    this.pending.delete(h);
    h.pending = null;
    if (r.result === 'resumed') {
      if (po.ingestedAt !== null) this.metrics.eventResumeLatency.observe((performance.now() - po.ingestedAt) / 1000);
      this.metrics.resumed.inc({ outcome: po.how });
      this.dispatcher.noteFired(h.routingKeys);
      if (po.outcome.type === 'failure')
        this.logger.warn({ triggerId: h.id, ti: h.tiId, error: po.outcome.error }, 'Trigger failed; task resumed into __fail__');
      else this.logger.debug({ triggerId: h.id, ti: h.tiId }, 'Trigger fired; task resumed');
    }
    this.drop(h);
  }

  private setPending(h: HeldTrigger, po: PendingOutcome): void {
    h.pending = po;
    if (this.held.get(h.id) === h) this.pending.add(h);
  }

  /** Forget a trigger locally (fired, lost, cancelled). Never touches the remote job. */
  private drop(h: HeldTrigger): void {
    // An event waiting on this trigger was not persisted through it: let it be redelivered.
    h.deliveryHold?.reject(new Error(`trigger ${h.id} was dropped before its outcome was persisted`));
    h.deliveryHold = null;
    h.sub?.unsubscribe();
    h.sub = null;
    h.deadlineTimer?.cancel();
    h.deadlineTimer = null;
    this.pending.delete(h);
    if (this.held.get(h.id) === h) this.held.delete(h.id);
    if (this.byTi.get(h.tiId) === h.id) this.byTi.delete(h.tiId);
    this.metrics.triggersHeld.set({ triggerer_id: this.id }, this.held.size);
    if (this.held.size < this.capacity && this.running() && this.held.size === this.capacity - 1) this.requestClaim();
  }

  /** The trigger is no longer ours to run (deleted, adopted, task moved on): unsubscribe it. */
  private cancel(h: HeldTrigger, reason: string): void {
    this.logger.info({ triggerId: h.id, ti: h.tiId, reason }, 'Cancelled a trigger (its remote job is untouched)');
    h.settled = true;
    this.drop(h);
  }

  private service<T>(name: string): T {
    if (name === SAGEMAKER_WATCHER_SERVICE) return this.reconciler as T;
    const s = this.services[name];
    if (s === undefined) {
      throw new DeferflowError('CONFIG_ERROR', `The triggerer has no '${name}' service`, { hint: `Pass services: { ${name} } to the Triggerer / Runtime.` });
    }
    return s as T;
  }

  // ------------------------------------------------------------------ upkeep

  private onBusChange(c: StateChange): void {
    if (c.kind === 'trigger') {
      if (c.action === 'created') {
        this.requestClaim();
        return;
      }
      const h = this.held.get(c.trigger_id);
      if (!h || h.settled) return;
      // Someone deleted it (fired elsewhere, task cleared). A 'claimed' by another triggerer is
      // left to the ownership check, which reads who really owns the row.
      if (c.action === 'deleted' || c.action === 'fired') this.cancel(h, `trigger ${c.action} elsewhere`);
      return;
    }
    if (c.kind === 'task_instance') this.checkTask(c.ti);
  }

  private checkTask(ti: Pick<TaskInstanceDoc, '_id' | 'state' | 'trigger_id'>): void {
    const triggerId = this.byTi.get(ti._id);
    if (!triggerId) return;
    const h = this.held.get(triggerId);
    if (!h || h.settled || !isOrphanTrigger(triggerId, ti)) return;
    this.cancel(h, `task is ${ti.state ?? 'none'} and no longer deferred on this trigger`);
    this.deleteOrphan(triggerId);
  }

  private deleteOrphan(triggerId: string): void {
    this.dropping.add(triggerId);
    this.triggers
      .deleteOwned(triggerId, this.id)
      .catch((e: unknown) => this.logger.warn({ err: e, triggerId }, 'Deleting an orphan trigger failed'))
      .finally(() => this.dropping.delete(triggerId));
  }

  private async heartbeatAndCheckOwnership(): Promise<void> {
    if (!this.running()) return;
    try {
      const ok = await this.job.heartbeat(this.held.size);
      if (!ok) await this.job.register();
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

  /**
   * Only we add rows to our ownership set, so when the count of rows we own (excluding triggers
   * whose rows are being deleted by us) equals what we run, nothing changed. Only on a mismatch do
   * we read the ids — one count query per heartbeat at 100k triggers. Rows we run but no longer
   * own (deleted, adopted after a partition) are cancelled; rows we own but do not run (a claim
   * whose outcome FerretDB reported wrongly) are started.
   */
  private async checkOwnership(): Promise<void> {
    const skip: string[] = [...this.dropping];
    for (const h of this.held.values()) if (h.settled) skip.push(h.id);
    const expected = this.held.size - skip.length + this.dropping.size;
    const n = await this.triggers.countOwned(this.id, skip);
    if (n === expected || !this.running()) return;
    const owned = await this.triggers.idsOwned(this.id);
    for (const h of [...this.held.values()]) {
      if (owned.has(h.id)) continue;
      if (!h.settled) this.cancel(h, 'trigger deleted or adopted by another triggerer');
      else if (h.pending) this.drop(h); // its row is gone: nothing left to resume through it
    }
    const missing = [...owned].filter((id) => !this.held.has(id) && !this.dropping.has(id));
    if (missing.length > 0 && this.running()) {
      const docs = await this.store.triggers.find({ _id: { $in: missing }, triggerer_id: this.id }).toArray();
      const tiRows = await this.store.taskInstances
        .find({ _id: { $in: docs.map((d) => d.task_instance_id) } }, { projection: { state: 1, trigger_id: 1 } })
        .toArray();
      const tiById = new Map(tiRows.map((t) => [t._id, t]));
      for (const d of docs) {
        if (this.held.has(d._id) || !this.running()) continue;
        if (isOrphanTrigger(d._id, tiById.get(d.task_instance_id))) this.deleteOrphan(d._id);
        else this.startTrigger(d);
      }
    }
  }

  private async maintenance(): Promise<void> {
    if (!this.running()) return;
    try {
      await this.retryPending();
      await this.pollTaskChanges();
    } catch (e) {
      this.logger.warn({ err: e }, 'Triggerer maintenance failed');
    }
  }

  private async retryPending(): Promise<void> {
    for (const h of [...this.pending]) {
      if (!h.pending || h.retrying || !this.running()) continue;
      h.retrying = true;
      try {
        await this.trackInflight(this.persist(h, h.pending));
      } catch {
        // logged in persist; next tick
      } finally {
        h.retrying = false;
      }
    }
  }

  /**
   * Task rows changed by other processes (cleared, marked, resumed elsewhere): one range query on
   * the updated_at index per poll, overlapping the previous one by a second for late commits.
   */
  private async pollTaskChanges(): Promise<void> {
    if (this.byTi.size === 0) {
      this.tiCursor = new Date();
      return;
    }
    const since = new Date((this.tiCursor ?? new Date()).getTime() - 1_000);
    const rows = await this.store.taskInstances.find({ updated_at: { $gt: since } }, { projection: { state: 1, trigger_id: 1, updated_at: 1 } }).toArray();
    let max = this.tiCursor ?? since;
    for (const r of rows) {
      if (r.updated_at > max) max = r.updated_at;
      this.checkTask(r);
    }
    this.tiCursor = max;
  }
}
