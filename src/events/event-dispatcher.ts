/**
 * The consumer side of the shared event streams, one per triggerer: routes each incoming event
 * by key to the triggers running here (O(1), synchronously), resumes triggers held elsewhere or
 * by nobody straight from MongoDB (their kind's `fromEvent`), and acknowledges the event only
 * after every resume it caused is persisted. Redelivery and duplicates are expected: the resume
 * is a guarded update, so a second delivery changes nothing and is counted as a duplicate.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import type { TriggerDoc } from '../store/schema.ts';
import type { TaskInstanceTransitions } from '../store/transitions/task-instance-transitions.ts';
import type { TriggerTransitions } from '../store/transitions/trigger-transitions.ts';
import { getTriggerKind } from '../triggers/registry.ts';
import { persistTriggerOutcome } from '../triggers/trigger-outcome.ts';
import type { TriggererMetrics } from '../metrics/triggerer-metrics.ts';
import type { EventBridgeEvent } from './eventbridge-event.ts';
import type { IncomingEvent } from './event-source.ts';
import type { EventRouter } from './event-router.ts';
import { routingKeysOf, WILDCARD_ROUTING_KEY } from './routing-keys.ts';
import { RecentKeys } from './recent-keys.ts';
import { KeyLookupBatcher } from './key-lookup-batcher.ts';

export interface EventDispatcherOptions {
  store: Store;
  tis: TaskInstanceTransitions;
  triggers: TriggerTransitions;
  router: EventRouter;
  logger: Logger;
  metrics: TriggererMetrics;
  /** Triggers this process runs itself; the router reaches them, the DB path must skip them. */
  isHeld?(triggerId: string): boolean;
  /** Resume triggers held elsewhere / unclaimed from MongoDB (default true). */
  remoteResume?: boolean;
}

interface Delivery {
  work: Promise<unknown>[];
  ingestedAt: number;
}

export type DispatchResult = 'delivered' | 'resumed-remote' | 'duplicate' | 'unroutable' | 'retry';

export class EventDispatcher {
  private delivery: Delivery | null = null;
  private readonly recent = new RecentKeys();
  private readonly lookups: KeyLookupBatcher;

  constructor(private readonly opts: EventDispatcherOptions) {
    this.lookups = new KeyLookupBatcher(opts.store);
  }

  /**
   * Called by a trigger's owner while it handles an event delivered by `route` (synchronously):
   * the event is acked only after `p` settles, and nacked if it rejects.
   */
  track(p: Promise<unknown>): void {
    this.delivery?.work.push(p);
  }

  /** performance.now() at which the event being delivered was ingested (null outside delivery). */
  get currentIngestedAt(): number | null {
    return this.delivery?.ingestedAt ?? null;
  }

  /** Remember that the trigger(s) under these keys fired (later events for them are duplicates). */
  noteFired(keys: string[]): void {
    for (const k of keys) if (k !== WILDCARD_ROUTING_KEY && !k.includes('|')) this.recent.add(k);
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
    const keys = routingKeysOf(event);
    const delivery: Delivery = { work: [], ingestedAt };
    const outer = this.delivery;
    this.delivery = delivery;
    let routed;
    try {
      routed = this.opts.router.route(event, keys);
    } finally {
      this.delivery = outer;
    }
    const remote = this.opts.remoteResume === false ? { resumed: 0, retry: false } : await this.resumeStored(event, routed.unheldKeys, ingestedAt);
    const settled = await Promise.allSettled(delivery.work);
    if (remote.retry || settled.some((s) => s.status === 'rejected')) return 'retry';
    if (delivery.work.length > 0) return 'delivered';
    if (remote.resumed > 0) return 'resumed-remote';
    if (routed.delivered > 0) return 'delivered';
    return keys.some((k) => this.recent.has(k)) ? 'duplicate' : 'unroutable';
  }

  /** Triggers in MongoDB under keys nobody here subscribes to: resume them via `fromEvent`. */
  private async resumeStored(event: EventBridgeEvent, keys: string[], ingestedAt: number): Promise<{ resumed: number; retry: boolean }> {
    if (keys.length === 0) return { resumed: 0, retry: false };
    const docs = await this.lookups.lookup(keys);
    let resumed = 0;
    let retry = false;
    for (const doc of docs) {
      if (this.opts.isHeld?.(doc._id)) continue;
      const r = await this.resumeOne(doc, event, ingestedAt);
      if (r === 'resumed') resumed++;
      if (r === 'retry') retry = true;
    }
    return { resumed, retry };
  }

  private async resumeOne(doc: TriggerDoc, event: EventBridgeEvent, ingestedAt: number): Promise<'resumed' | 'skipped' | 'retry'> {
    const kind = getTriggerKind(doc.kind);
    if (!kind?.fromEvent) return 'skipped';
    let kwargs: unknown;
    try {
      kwargs = kind.schema.parse(JSON.parse(doc.kwargs));
    } catch {
      return 'skipped'; // its owner fails it with the validation message
    }
    const te = kind.fromEvent(kwargs, event);
    if (!te) return 'skipped';
    const r = await persistTriggerOutcome(this.opts, doc, { type: 'event', payload: te.payload });
    if (r.result === 'resumed') {
      this.opts.metrics.eventResumeLatency.observe((performance.now() - ingestedAt) / 1000);
      this.opts.metrics.resumed.inc({ outcome: 'event' });
      this.noteFired(doc.routing_keys);
      this.opts.logger.info(
        { triggerId: doc._id, ti: doc.task_instance_id, owner: doc.triggerer_id },
        'Resumed a task from an event for a trigger not running here',
      );
      return 'resumed';
    }
    // The task is mid-deferral: let the event come back (SQS redelivers) or the owner's check catch it.
    return r.result === 'not-deferred-yet' ? 'retry' : 'skipped';
  }
}
