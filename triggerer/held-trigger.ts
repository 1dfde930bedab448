/**
 * One trigger held by a triggerer, as an explicit state machine:
 *
 *   claimed ──start──▶ running ──decide──▶ persisting ──stored──▶ dropped
 *      │                  │                  ▲     │
 *      │                  │         retry    │     ▼ task mid-deferral / MongoDB error
 *      │                  │                  └─ pending-retry
 *      ├──(cannot start: unknown kind, bad kwargs, deadline passed)──▶ persisting
 *      └──────────────────┴──orphan──▶ deleting ──row deleted──▶ dropped
 *   any state ──cancel / stop──▶ dropped
 *
 *   claimed        the row is ours; the trigger is being built (kind, kwargs, deadline).
 *   running        its Observable runs; routed events reach it; its deadline is armed.
 *   persisting     it decided (event, failure or timeout); the guarded resume is in flight.
 *   pending-retry  the resume could not land yet (task still mid-deferral, MongoDB error);
 *                  the triggerer's maintenance retries it.
 *   deleting       its task moved on (cleared, marked, gone): the row is being deleted.
 *   dropped        forgotten here. Entered through ONE teardown (`drop`), whatever the reason:
 *                  unsubscribe the run, disarm the deadline, settle the deliveries waiting on it
 *                  (acked if its outcome was stored, handed back otherwise), leave the maps.
 *
 * The first decision wins; anything the run emits after it is ignored. Dropping never touches the
 * remote job: triggers move between triggerers (adoption, shutdown) while their jobs keep running.
 *
 * Deliveries: an event offered to a running trigger is handed to its run; if the trigger decides
 * while handling it, or holds it (EventDelivery.hold), the event's ack waits for this trigger's
 * outcome to be stored. An event offered to a trigger that already decided waits for the same.
 */
import type { Observable, Subscription } from 'rxjs';
import type { Logger } from 'pino';
import { errorMessage } from '../src/errors/deferflow-error.ts';
import { triggerShardOf, type TriggerDoc } from '../src/store/schema.ts';
import type { TriggerKindRegistry } from '../src/triggers/trigger-kind-registry.ts';
import type { EventDelivery, TriggerRunContext } from '../src/triggers/trigger-kind.ts';
import type { TriggerEvent } from '../src/triggers/serialized-trigger.ts';
import type { PersistResult, TriggerOutcome } from './outcome.ts';
import type { Delivery } from './routing/delivery.ts';
import type { TimerHandle, TimerHeap } from './timer-heap.ts';

export type HeldTriggerState = 'claimed' | 'running' | 'persisting' | 'pending-retry' | 'deleting' | 'dropped';

export const HELD_TRIGGER_EDGES: Readonly<Record<HeldTriggerState, readonly HeldTriggerState[]>> = {
  claimed: ['running', 'persisting', 'deleting', 'dropped'],
  running: ['persisting', 'deleting', 'dropped'],
  persisting: ['pending-retry', 'dropped'],
  'pending-retry': ['persisting', 'dropped'],
  deleting: ['dropped'],
  dropped: [],
};

export type OutcomeHow = 'event' | 'failure' | 'timeout';

export interface DecidedOutcome {
  outcome: TriggerOutcome;
  how: OutcomeHow;
  /** performance.now() when the event that decided it was ingested (null: not an event). */
  ingestedAt: number | null;
}

/** What a held trigger needs from its triggerer. */
export interface HeldTriggerHost {
  readonly kinds: TriggerKindRegistry;
  readonly timers: TimerHeap;
  readonly logger: Logger;
  /** The context the trigger's run sees. */
  runContext(h: HeldTrigger, doc: TriggerDoc): TriggerRunContext;
  /** The guarded resume (or __fail__) and trigger delete. */
  persist(h: HeldTrigger, outcome: TriggerOutcome): Promise<PersistResult>;
  /** Delete the row of a trigger whose task moved on. */
  deleteRow(h: HeldTrigger): Promise<void>;
  /** In-flight work the triggerer's stop() drains. */
  track(p: Promise<unknown>): void;
  /** The outcome was stored (metrics, logs). */
  stored(h: HeldTrigger, decided: DecidedOutcome, result: PersistResult): void;
  /** Bookkeeping after every transition (pending set, held maps on `dropped`). */
  entered(h: HeldTrigger, state: HeldTriggerState): void;
}

interface Final {
  promise: Promise<void>;
  resolve(): void;
  reject(e: Error): void;
}

export class HeldTrigger {
  readonly id: string;
  readonly tiId: string;
  readonly routingKeys: string[];
  /** The shard whose lease makes this trigger ours. */
  readonly shard: number;
  private current: HeldTriggerState = 'claimed';
  private run: Subscription | null = null;
  private deadlineTimer: TimerHandle | null = null;
  private decided: DecidedOutcome | null = null;
  private stored = false;
  /** Settles when this trigger leaves: resolved if its outcome was stored, rejected otherwise. */
  private final: Final | null = null;
  /** Ingest time of the first event this trigger held (it decides later, because of that event). */
  private heldIngestedAt: number | null = null;

  /** The row, until the trigger is built from it (100k held triggers keep no 100k kwargs strings). */
  private doc: TriggerDoc | null;

  constructor(
    private readonly host: HeldTriggerHost,
    doc: TriggerDoc,
  ) {
    this.doc = doc;
    this.id = doc._id;
    this.tiId = doc.task_instance_id;
    this.routingKeys = doc.routing_keys ?? [];
    this.shard = doc.shard ?? triggerShardOf(doc._id);
  }

  get state(): HeldTriggerState {
    return this.current;
  }

  /** Still waiting (its row should be ours): claimed or running. */
  get waiting(): boolean {
    return this.current === 'claimed' || this.current === 'running';
  }

  /** Build and subscribe the trigger; a trigger that cannot start decides a failure at once. */
  start(): void {
    const doc = this.doc;
    if (this.current !== 'claimed' || !doc) return;
    this.doc = null;
    const built = this.build(doc);
    if ('failure' in built) {
      this.decide(
        built.how === 'timeout' ? { type: 'failure', error: built.failure, kind: 'trigger_timeout' } : { type: 'failure', error: built.failure },
        built.how,
      );
      return;
    }
    const fail = (error: string): void => this.decide({ type: 'failure', error }, 'failure');
    this.to('running');
    const deadline = doc.deadline;
    if (deadline)
      this.deadlineTimer = this.host.timers.schedule(deadline.getTime(), () =>
        this.decide({ type: 'failure', error: 'Trigger timeout', kind: 'trigger_timeout' }, 'timeout'),
      );
    // No take(1) layer (memory at 100k): decide() ignores anything after the first event.
    const sub = built.run$.subscribe({
      next: (te) => this.decide({ type: 'event', payload: te.payload }, 'event'),
      error: (e: unknown) => fail(`Trigger failed: ${errorMessage(e)}`),
      complete: () => {
        if (this.current === 'running') fail('Trigger completed without firing an event');
      },
    });
    // It may have decided while subscribing (an event or error emitted synchronously).
    if (this.state === 'running') this.run = sub;
    else sub.unsubscribe();
  }

  /** The trigger's Observable from its kind and stored kwargs, or why it cannot run. */
  private build(doc: TriggerDoc): { run$: Observable<TriggerEvent> } | { failure: string; how: OutcomeHow } {
    const kind = this.host.kinds.get(doc.kind);
    if (!kind) return { failure: `Unknown trigger kind '${doc.kind}' (registered: ${this.host.kinds.names().join(', ') || 'none'})`, how: 'failure' };
    let raw: unknown;
    try {
      raw = JSON.parse(doc.kwargs);
    } catch (e) {
      return { failure: `Trigger kwargs of '${doc.kind}' are not valid JSON: ${errorMessage(e)}`, how: 'failure' };
    }
    const parsed = kind.schema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      return { failure: `Invalid kwargs for trigger kind '${doc.kind}': ${issues}`, how: 'failure' };
    }
    if (doc.deadline && doc.deadline.getTime() <= Date.now()) return { failure: 'Trigger timeout', how: 'timeout' };
    try {
      return { run$: kind.run(parsed.data, this.host.runContext(this, doc)) };
    } catch (e) {
      return { failure: `Trigger failed to start: ${errorMessage(e)}`, how: 'failure' };
    }
  }

  /** The trigger decided: stop waiting and store the outcome. The first decision wins. */
  decide(outcome: TriggerOutcome, how: OutcomeHow): void {
    if (!this.waiting) return;
    this.decided = { outcome, how, ingestedAt: how === 'event' ? this.heldIngestedAt : null };
    this.to('persisting');
    this.stopWaiting();
    this.host.track(this.persist());
  }

  /** pending-retry → persisting again (the triggerer's maintenance). */
  retry(): Promise<void> {
    if (this.current !== 'pending-retry') return Promise.resolve();
    this.to('persisting');
    const p = this.persist();
    this.host.track(p);
    return p;
  }

  /**
   * A routed event for this trigger: `handle` passes it to the run. Afterwards, if the trigger has
   * decided (now, or before the event came), the event's ack waits for the outcome to be stored.
   */
  offer(delivery: Delivery, handle: () => void): void {
    if (this.current === 'running') {
      handle();
      if (this.current === 'running') return; // ignored it, or held it (hold() enlisted already)
      if (this.decided && this.decided.how === 'event' && this.decided.ingestedAt === null) this.decided.ingestedAt = delivery.ingestedAt;
    }
    if (this.current === 'persisting' || this.current === 'pending-retry') delivery.waitFor(this.whenStored());
    // A trigger still being built cannot have seen it: hand the event back, it will be here next time.
    else if (this.current === 'claimed') delivery.waitFor(Promise.reject(new Error(`trigger ${this.id} is not running yet`)));
    // deleting / dropped: no trigger left here to consume it.
  }

  /** This trigger's view of a delivery (EventDelivery.hold). */
  viewOf(delivery: Delivery): EventDelivery {
    return { hold: () => this.hold(delivery) };
  }

  /** The trigger will decide later because of this event: its ack waits for the stored outcome. */
  hold(delivery: Delivery): void {
    if (this.current === 'dropped' || this.current === 'deleting') {
      delivery.waitFor(Promise.reject(new Error(`trigger ${this.id} is gone`)));
      return;
    }
    this.heldIngestedAt ??= delivery.ingestedAt;
    delivery.waitFor(this.whenStored());
  }

  /** Its task moved on: stop waiting and delete the row (never the remote job). */
  orphan(): void {
    if (!this.waiting) return;
    this.doc = null;
    this.to('deleting');
    this.stopWaiting();
    const p = this.host.deleteRow(this).finally(() => this.drop('deleted as an orphan'));
    this.host.track(p);
  }

  /** THE teardown: forget this trigger here, whatever state it is in. Never touches the remote job. */
  drop(reason: string): void {
    if (this.current === 'dropped') return;
    this.stopWaiting();
    this.to('dropped');
    if (this.final) {
      if (this.stored) this.final.resolve();
      else this.final.reject(new Error(`trigger ${this.id} was dropped (${reason}) before its outcome was stored`));
    }
  }

  private persist(): Promise<void> {
    const decided = this.decided!;
    return this.host.persist(this, decided.outcome).then(
      (r) => {
        if (this.current !== 'persisting') return; // dropped meanwhile (stop, row gone)
        if (r.result === 'not-deferred-yet') {
          this.to('pending-retry');
          return;
        }
        this.stored = true;
        this.host.stored(this, decided, r);
        this.drop('outcome stored');
      },
      (e: unknown) => {
        if (this.current !== 'persisting') return;
        this.host.logger.warn({ err: e, triggerId: this.id }, 'Storing a trigger outcome failed; retrying');
        this.to('pending-retry');
      },
    );
  }

  private whenStored(): Promise<void> {
    if (!this.final) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => undefined); // observed by each delivery waiting on it
      this.final = { promise, resolve, reject };
    }
    return this.final.promise;
  }

  private stopWaiting(): void {
    this.run?.unsubscribe();
    this.run = null;
    this.deadlineTimer?.cancel();
    this.deadlineTimer = null;
  }

  private to(next: HeldTriggerState): void {
    if (!HELD_TRIGGER_EDGES[this.current].includes(next)) throw new Error(`Invalid held-trigger transition ${this.current} → ${next} (trigger ${this.id})`);
    this.current = next;
    this.host.entered(this, next);
  }
}
