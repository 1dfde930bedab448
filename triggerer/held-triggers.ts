/**
 * The triggers one triggerer holds, as a collection: by trigger id and by task instance, the ones
 * whose outcome waits for a retry, and what the dispatcher may ask of them (LocalTriggers). Each
 * member is a HeldTrigger state machine; this class does the bookkeeping its transitions call for
 * (a `dropped` trigger leaves the maps; room under the capacity asks for a claim) and the
 * decisions that concern many of them (rows lost, tasks that moved on, stopping).
 */
import type { Logger } from 'pino';
import type { EventBridgeEvent } from '../src/events/eventbridge-event.ts';
import type { TriggererMetrics } from '../src/metrics/triggerer-metrics.ts';
import type { Services } from '../src/services/services.ts';
import type { TriggerDoc } from '../src/store/schema.ts';
import type { TriggerKindRegistry } from '../src/triggers/trigger-kind-registry.ts';
import type { TriggerStatusReport } from '../src/triggers/trigger-kind.ts';
import { HeldTrigger, type DecidedOutcome, type HeldTriggerHost, type HeldTriggerState } from './held-trigger.ts';
import { isOrphanTrigger, persistTriggerOutcome, type PersistResult } from './outcome.ts';
import type { HeldView, OwnedRow, TaskRow } from './ownership.ts';
import type { ResumeBatches } from './resume-batches.ts';
import type { RowDeletes } from './row-deletes.ts';
import type { StatusWriter } from './status-writer.ts';
import type { Delivery } from './routing/delivery.ts';
import type { LocalTriggers } from './routing/event-dispatcher.ts';
import type { EventRouter, RouteResult } from './routing/event-router.ts';
import type { TimerHeap } from './timer-heap.ts';
import { RunContext } from './trigger-run-context.ts';

export interface HeldTriggersOptions {
  triggererId: string;
  capacity: number;
  resumes: ResumeBatches;
  rowDeletes: RowDeletes;
  kinds: TriggerKindRegistry;
  router: EventRouter;
  timers: TimerHeap;
  services: Services;
  logger: Logger;
  metrics: TriggererMetrics;
  /** In-flight work the triggerer's stop() drains. */
  track(p: Promise<unknown>): void;
  /** A trigger decided and its outcome resumed the task (the dispatcher notes its keys as fired). */
  fired(routingKeys: string[]): void;
  /** There is room for more triggers again. */
  roomFreed(): void;
  /** Stores what triggers report about the resources they watch. */
  statusWriter?: StatusWriter;
}

export class HeldTriggers implements LocalTriggers {
  private readonly byId = new Map<string, HeldTrigger>();
  private readonly byTi = new Map<string, string>();
  private readonly pending = new Set<HeldTrigger>();
  private readonly host: HeldTriggerHost;

  constructor(private readonly o: HeldTriggersOptions) {
    const runHost = {
      logger: o.logger,
      router: o.router,
      timers: o.timers,
      services: o.services,
      reportStatus: o.statusWriter ? (id: string, s: TriggerStatusReport) => o.statusWriter!.report(id, s) : undefined,
    };
    this.host = {
      kinds: o.kinds,
      timers: o.timers,
      logger: o.logger,
      runContext: (h, doc) => new RunContext(runHost, h, doc.deadline, doc.created_at),
      persist: (h, outcome) => persistTriggerOutcome({ resumes: o.resumes, rowDeletes: o.rowDeletes }, { _id: h.id, task_instance_id: h.tiId }, outcome),
      deleteRow: (h) => o.rowDeletes.delete(h.id, 'deleted'),
      track: o.track,
      stored: (h, decided, result) => this.onStored(h, decided, result),
      entered: (h, state) => this.onEntered(h, state),
    };
  }

  get size(): number {
    return this.byId.size;
  }

  has(triggerId: string): boolean {
    return this.byId.has(triggerId);
  }

  /** Held here and still waiting (not decided, not being deleted). */
  isWaiting(triggerId: string): boolean {
    return this.byId.get(triggerId)?.waiting ?? false;
  }

  /** Rows now ours: run them, or delete them as orphans (task cleared, marked, gone). */
  adopt(rows: OwnedRow[]): void {
    for (const { doc, orphan } of rows) {
      if (this.byId.has(doc._id)) continue;
      const h = this.hold(doc);
      if (orphan) h.orphan();
      else h.start();
    }
    this.o.metrics.triggersHeld.set({ triggerer_id: this.o.triggererId }, this.byId.size);
  }

  /** What ownership compares with the rows of the shards we hold. */
  view(): HeldView {
    const waitingByShard = new Map<number, number>();
    const settlingIds: string[] = this.o.rowDeletes.ids();
    for (const h of this.byId.values()) {
      if (h.waiting) waitingByShard.set(h.shard, (waitingByShard.get(h.shard) ?? 0) + 1);
      else settlingIds.push(h.id);
    }
    return {
      size: this.byId.size,
      waitingByShard,
      settlingIds,
      isHeld: (id) => this.byId.has(id) || this.o.rowDeletes.has(id),
      waitingIn: (shards) => [...this.byId.values()].filter((h) => h.waiting && shards.has(h.shard)).map((h) => h.id),
    };
  }

  /** Triggers whose rows vanished (deleted by another process): stop them. */
  vanished(ids: ReadonlySet<string>): void {
    for (const id of ids) {
      const h = this.byId.get(id);
      if (h?.waiting) this.cancel(h, 'its trigger row was deleted');
    }
  }

  /**
   * Shards no longer ours (handed over and started elsewhere, or our lease was taken): their
   * triggers stop here. Outcomes being stored finish; one waiting for a retry is dropped (its event
   * is handed back and reaches the new holder).
   */
  dropShards(shards: readonly number[], reason: string): void {
    if (shards.length === 0) return;
    const set = new Set(shards);
    let n = 0;
    for (const h of [...this.byId.values()]) {
      if (!set.has(h.shard)) continue;
      if (h.waiting || h.state === 'pending-retry') {
        h.drop(reason);
        n++;
      }
    }
    if (n > 0) this.o.logger.info({ shards, triggers: n, reason }, 'Stopped the triggers of shards no longer held here (their remote jobs are untouched)');
  }

  /** A trigger row was deleted or fired by someone else. */
  goneElsewhere(triggerId: string, action: string): void {
    const h = this.byId.get(triggerId);
    if (h?.waiting) this.cancel(h, `trigger ${action} elsewhere`);
  }

  /** A task row changed: a trigger it no longer waits on is deleted (never its remote job). */
  taskChanged(ti: TaskRow): void {
    const triggerId = this.byTi.get(ti._id);
    const h = triggerId ? this.byId.get(triggerId) : undefined;
    if (!h?.waiting || !isOrphanTrigger(h.id, ti)) return;
    this.o.logger.info({ triggerId: h.id, ti: h.tiId, state: ti.state }, 'Task no longer deferred on this trigger; deleting it (its remote job is untouched)');
    h.orphan();
  }

  /** Whether any held trigger waits on a task (the task poll can idle otherwise). */
  get watchingTasks(): boolean {
    return this.byTi.size > 0;
  }

  /** Retry the outcomes that could not be stored yet, all at once: they are written as one batch (resume-batches.ts). */
  async retryPending(keepGoing: () => boolean): Promise<void> {
    if (this.pending.size === 0 || !keepGoing()) return;
    await Promise.all([...this.pending].map((h) => h.retry()));
  }

  /** Stopping: every wait ends (never a remote job). Outcomes being stored and orphans being deleted finish. */
  stopWaiting(reason: string): void {
    for (const h of [...this.byId.values()]) if (h.state !== 'persisting' && h.state !== 'deleting') h.drop(reason);
  }

  dropAll(reason: string): void {
    for (const h of [...this.byId.values()]) h.drop(reason);
    this.o.metrics.triggersHeld.remove({ triggerer_id: this.o.triggererId });
  }

  // ---- LocalTriggers: what the dispatcher asks

  route(event: EventBridgeEvent, delivery: Delivery): RouteResult {
    return this.o.router.route(event, this.o.router.keysOf(event), delivery);
  }

  offer(triggerId: string, event: EventBridgeEvent, keys: string[], delivery: Delivery): 'offered' | 'not-held' {
    const h = this.byId.get(triggerId);
    if (!h) return 'not-held';
    // Running: hand it the event through its own subscriptions (it started after the event was
    // routed). Otherwise its state machine says what the event waits for.
    if (h.state === 'running') this.o.router.routeTo(triggerId, event, keys, delivery);
    else h.offer(delivery, () => undefined);
    return 'offered';
  }

  // ---- bookkeeping

  private hold(doc: TriggerDoc): HeldTrigger {
    const h = new HeldTrigger(this.host, doc);
    this.byId.set(h.id, h);
    this.byTi.set(h.tiId, h.id);
    return h;
  }

  private cancel(h: HeldTrigger, reason: string): void {
    this.o.logger.info({ triggerId: h.id, ti: h.tiId, reason }, 'Cancelled a trigger (its remote job is untouched)');
    h.drop(reason);
  }

  private onStored(h: HeldTrigger, decided: DecidedOutcome, result: PersistResult): void {
    if (result.result !== 'resumed') return;
    const { metrics, logger } = this.o;
    if (decided.ingestedAt !== null) metrics.eventResumeLatency.observe((performance.now() - decided.ingestedAt) / 1000);
    metrics.resumed.inc({ outcome: decided.how });
    this.o.fired(h.routingKeys);
    if (decided.outcome.type === 'failure')
      logger.warn({ triggerId: h.id, ti: h.tiId, error: decided.outcome.error }, 'Trigger failed; task resumed into __fail__');
    else logger.debug({ triggerId: h.id, ti: h.tiId }, 'Trigger fired; task resumed');
  }

  private onEntered(h: HeldTrigger, state: HeldTriggerState): void {
    if (state === 'pending-retry') this.pending.add(h);
    else this.pending.delete(h);
    if (state !== 'dropped') return;
    if (this.byId.get(h.id) === h) this.byId.delete(h.id);
    if (this.byTi.get(h.tiId) === h.id) this.byTi.delete(h.tiId);
    this.o.metrics.triggersHeld.set({ triggerer_id: this.o.triggererId }, this.byId.size);
    if (this.byId.size === this.o.capacity - 1) this.o.roomFreed();
  }
}
