/**
 * The consumer side of the shared event streams, one per triggerer. For each incoming event:
 *
 *   1. route it by key to the triggers running here (O(1), synchronously), with an explicit
 *      Delivery each reached trigger enlists its work on;
 *   2. look its keys up in MongoDB (one batched `$in` query per event-loop turn; a resource's
 *      own key is skipped when it reached a trigger here) and, for every stored trigger the route
 *      did not reach:
 *        - running here by now (it started between 1 and 2: the claim window) → hand it the event;
 *        - not running here → resume it straight from MongoDB through its kind's `fromEvent`;
 *        - not decidable here (its kind has no `fromEvent`, or the task is mid-deferral) → the
 *          event is handed back for redelivery, never acknowledged past a trigger that wants it;
 *   3. acknowledge only once everything enlisted settled (outcomes persisted). No trigger found
 *      for the event in memory or in MongoDB means none exists that could match it: ack.
 *
 * Redelivery and duplicates are expected: every resume is a guarded update, so a second delivery
 * changes nothing and is counted as a duplicate.
 *
 * Known gap, kept for cost: a second trigger on the same resource's key (a sensor and an operator
 * on one SageMaker job) held by ANOTHER triggerer is not reached by an event that a trigger here
 * consumed; for SageMaker the reconcile sweep resumes it within one sweep interval.
 */
import type { Logger } from 'pino';
import type { EventBridgeEvent } from '../../src/events/eventbridge-event.ts';
import { isSpecificKey } from '../../src/events/routing-keys.ts';
import type { TriggererMetrics } from '../../src/metrics/triggerer-metrics.ts';
import type { TriggerDoc } from '../../src/store/schema.ts';
import type { Store } from '../../src/store/store.ts';
import type { TaskInstanceTransitions } from '../../src/store/transitions/task-instance-transitions.ts';
import type { TriggerTransitions } from '../../src/store/transitions/trigger-transitions.ts';
import type { Deferral } from '../../src/triggers/deferral-provider.ts';
import type { TriggerKindRegistry } from '../../src/triggers/trigger-kind-registry.ts';
import { persistTriggerOutcome } from '../outcome.ts';
import { ResumeBatches } from '../resume-batches.ts';
import { RowDeletes } from '../row-deletes.ts';
import type { IncomingEvent } from '../sources/event-source.ts';
import { Delivery } from './delivery.ts';
import { EventRouter, type RouteResult } from './event-router.ts';
import { KeyLookupBatcher } from './key-lookup-batcher.ts';
import { RecentKeys } from './recent-keys.ts';

/** The triggers this process runs, as the dispatcher sees them. */
export interface LocalTriggers {
  /** Route through the running triggers (see EventRouter.route). */
  route(event: EventBridgeEvent, delivery: Delivery): RouteResult;
  /** Hand the event to one stored trigger if it is held here: 'offered', or 'not-held'. */
  offer(triggerId: string, event: EventBridgeEvent, keys: string[], delivery: Delivery): 'offered' | 'not-held';
}

/** A process running no triggers (Runtime without a triggerer): every event goes to MongoDB. */
export function noLocalTriggers(router: EventRouter): LocalTriggers {
  return {
    route: (event, delivery) => router.route(event, router.keysOf(event), delivery),
    offer: () => 'not-held',
  };
}

/**
 * The dispatcher of a process running no triggers (a Runtime without a triggerer): it resumes the
 * stored triggers an event decides through their kind's fromEvent, batching its resumes as a
 * triggerer does.
 */
export function storedTriggersDispatcher(d: {
  store: Store;
  tis: TaskInstanceTransitions;
  triggers: TriggerTransitions;
  deferral: Pick<Deferral, 'triggerKinds' | 'routingKeys'>;
  logger: Logger;
  metrics: TriggererMetrics;
}): EventDispatcher {
  return new EventDispatcher({
    store: d.store,
    resumes: new ResumeBatches((items) => d.tis.resolveTriggers(items)),
    rowDeletes: new RowDeletes(d.triggers, d.logger),
    triggerKinds: d.deferral.triggerKinds,
    local: noLocalTriggers(new EventRouter(d.deferral.routingKeys)),
    logger: d.logger,
    metrics: d.metrics,
  });
}

/** Test hooks that widen race windows; never set in production. */
export interface DispatcherTestHooks {
  /** After an event was routed to the running triggers, before its MongoDB lookup. */
  routed?(event: EventBridgeEvent): Promise<void>;
}

export interface EventDispatcherOptions {
  store: Store;
  /** Where outcomes are written (shared with the held triggers, so all of a moment batch together). */
  resumes: ResumeBatches;
  rowDeletes: RowDeletes;
  triggerKinds: TriggerKindRegistry;
  local: LocalTriggers;
  logger: Logger;
  metrics: TriggererMetrics;
  hooks?: DispatcherTestHooks;
}

export type DispatchResult = 'delivered' | 'resumed-remote' | 'duplicate' | 'unroutable' | 'retry';

type StoredResult = 'resumed' | 'no-match' | 'retry';

export class EventDispatcher {
  private readonly recent = new RecentKeys();
  private readonly lookups: KeyLookupBatcher;

  constructor(private readonly opts: EventDispatcherOptions) {
    this.lookups = new KeyLookupBatcher(opts.store);
  }

  /** Remember that the trigger(s) under these keys fired (later events for them are duplicates). */
  noteFired(keys: string[]): void {
    for (const k of keys) if (isSpecificKey(k)) this.recent.add(k);
  }

  /** Route, persist, then ack. Never throws: failures nack (or leave the event to redelivery). */
  async dispatch(incoming: IncomingEvent, sourceName: string, ingestedAt = performance.now()): Promise<DispatchResult> {
    const { metrics, logger } = this.opts;
    const event = incoming.event;
    metrics.eventsReceived.inc({ source: sourceName });
    let result: DispatchResult;
    try {
      result = await this.handle(event, ingestedAt);
    } catch (e) {
      logger.warn({ err: e, source: sourceName, eventId: event.id, detailType: event['detail-type'] }, 'Handling an event failed; leaving it for redelivery');
      incoming.nack?.();
      return 'retry';
    }
    if (result === 'retry') {
      incoming.nack?.();
      return result;
    }
    if (result === 'duplicate') metrics.eventsDuplicate.inc({ source: sourceName });
    if (result === 'unroutable') metrics.eventsUnroutable.inc({ source: sourceName });
    try {
      await incoming.ack();
    } catch (e) {
      logger.warn({ err: e, source: sourceName, eventId: event.id }, 'Acknowledging an event failed; it will be redelivered (a no-op then)');
    }
    return result;
  }

  /** Route one event without a source (synthetic events from Describe / sweeps). */
  async dispatchSynthetic(event: EventBridgeEvent): Promise<DispatchResult> {
    try {
      return await this.handle(event, performance.now());
    } catch (e) {
      this.opts.logger.warn({ err: e, detailType: event['detail-type'] }, 'Handling a synthetic event failed');
      return 'retry';
    }
  }

  private async handle(event: EventBridgeEvent, ingestedAt: number): Promise<DispatchResult> {
    const delivery = new Delivery(event, ingestedAt);
    const routed = this.opts.local.route(event, delivery);
    await this.opts.hooks?.routed?.(event);
    const stored = await this.resumeStored(event, routed, delivery);
    const ok = await delivery.settled();
    if (!ok || stored.retry) return 'retry';
    if (stored.resumed > 0) return 'resumed-remote';
    if (delivery.enlisted || routed.delivered > 0 || stored.offered > 0) return 'delivered';
    return routed.keys.some((k) => this.recent.has(k)) ? 'duplicate' : 'unroutable';
  }

  /** Stored triggers under the event's keys that the route did not reach (see the file comment). */
  private async resumeStored(event: EventBridgeEvent, routed: RouteResult, delivery: Delivery): Promise<{ resumed: number; offered: number; retry: boolean }> {
    // A resource's own key that reached a trigger here is not looked up again: at most one trigger
    // usually waits on one resource, and skipping it keeps an event for a trigger running here at
    // one tiny query whatever the server. The shared keys (`source|detail-type`, `*`) always are.
    const unheld = new Set(routed.unheldKeys);
    const found = await this.lookups.byKeys(routed.keys.filter((k) => !isSpecificKey(k) || unheld.has(k)));
    let offered = 0;
    const elsewhere: string[] = [];
    for (const t of found) {
      if (routed.reached.has(t._id)) continue;
      if (this.opts.local.offer(t._id, event, routed.keys, delivery) === 'offered') offered++;
      else elsewhere.push(t._id);
    }
    let resumed = 0;
    let retry = false;
    for (const doc of await this.lookups.byIds(elsewhere)) {
      const r = await this.resumeOne(doc, event, delivery.ingestedAt);
      if (r === 'resumed') resumed++;
      if (r === 'retry') retry = true;
    }
    return { resumed, offered, retry };
  }

  private async resumeOne(doc: TriggerDoc, event: EventBridgeEvent, ingestedAt: number): Promise<StoredResult> {
    const kind = this.opts.triggerKinds.get(doc.kind);
    if (!kind?.fromEvent) {
      // Only the triggerer running it can tell whether this event resolves it: hand the event
      // back so it reaches that triggerer (or this one, once it has claimed the trigger).
      this.opts.logger.debug({ triggerId: doc._id, kind: doc.kind }, 'An event for a trigger only its holder can decide; handing it back');
      return 'retry';
    }
    let kwargs: unknown;
    try {
      kwargs = kind.schema.parse(JSON.parse(doc.kwargs));
    } catch {
      return 'no-match'; // its owner fails it with the validation message
    }
    const te = kind.fromEvent(kwargs, event);
    if (!te) return 'no-match';
    const r = await persistTriggerOutcome(this.opts, doc, { type: 'event', payload: te.payload });
    if (r.result === 'resumed') {
      this.opts.metrics.eventResumeLatency.observe((performance.now() - ingestedAt) / 1000);
      this.opts.metrics.resumed.inc({ outcome: 'event' });
      this.noteFired(doc.routing_keys);
      this.opts.logger.info({ triggerId: doc._id, ti: doc.task_instance_id, shard: doc.shard }, 'Resumed a task from an event for a trigger not running here');
      return 'resumed';
    }
    // The task is mid-deferral: let the event come back (SQS redelivers) or the owner's check catch it.
    return r.result === 'not-deferred-yet' ? 'retry' : 'no-match';
  }
}
