/**
 * A trigger kind: how the triggerer turns a stored `{kind, kwargs}` back into something that runs.
 * `run` returns an Observable; its FIRST emitted TriggerEvent resumes the task, an error fails the
 * task into `__fail__`, and unsubscribing cancels the wait (never the remote job).
 *
 * This is the SDK side of deferral: DAG authors and providers implement these types; the
 * triggerer (`triggerer/`) is what runs them.
 */
import type { Observable } from 'rxjs';
import type { ZodType } from 'zod';
import type { Logger } from 'pino';
import type { EventBridgeEvent } from '../events/eventbridge-event.ts';
import type { Services } from '../services/services.ts';
import type { TriggerEvent } from './serialized-trigger.ts';

/**
 * The acknowledgement of one routed event, as a trigger sees it. The triggerer acknowledges an
 * event (deletes its SQS message) only once every trigger it reached has either ignored it or had
 * its outcome persisted:
 *   - a trigger that emits its outcome while handling the event needs nothing: the ack waits for
 *     that outcome to be persisted;
 *   - a trigger that will emit LATER because of this event (after async work, e.g. copying a log)
 *     calls `hold()` while handling it: the ack then waits for the trigger's outcome, and the event
 *     is handed back for redelivery if the trigger is dropped first;
 *   - a trigger that does neither has ignored the event (a non-terminal status, a non-match).
 * `hold()` must be called before the handler returns; the object is this trigger's view of the
 * delivery, so there is no ambient "current event" to get wrong.
 */
export interface EventDelivery {
  hold(): void;
}

/** An event routed to a trigger, with its delivery. */
export interface RoutedEvent {
  event: EventBridgeEvent;
  delivery: EventDelivery;
}

/** What a watched resource reported (e.g. a SageMaker job's status and secondary status). */
export interface TriggerStatusReport {
  status: string;
  secondaryStatus?: string | null;
  message?: string | null;
  /** When it happened (the event's time). */
  at: Date;
}

/** What a running trigger can use; provided by the triggerer. */
export interface TriggerRunContext {
  triggerId: string;
  /** Absolute deadline of the trigger (the triggerer also enforces it). */
  deadline: Date | null;
  logger: Logger;
  /** Events routed to `key` from every shared event source of this triggerer (O(1) by key). */
  eventsFor(key: string): Observable<EventBridgeEvent>;
  /** The same events with their delivery, for triggers that hold an event's ack (see EventDelivery). */
  deliveriesFor(key: string): Observable<RoutedEvent>;
  /** The services the triggerer was assembled with (AWS clients, task logs, provider watchers …). */
  services: Services;
  /**
   * Emits once at `moment` (at once if it passed). Backed by the triggerer's single timer heap, so
   * 100k waiting triggers cost no 100k timers; kinds fall back to rxjs `timer` when absent.
   */
  at?(moment: Date): Observable<Date>;
  /** When the trigger row was created (lower bound for reconcile sweeps). */
  createdAt?: Date;
  /**
   * Record what the watched resource reports while the task waits; the triggerer stores the latest
   * on the trigger row (last_status …) for the API and `triggers list`. Cheap: writes are batched.
   */
  reportStatus?(s: TriggerStatusReport): void;
}

export interface TriggerKind<K = Record<string, unknown>> {
  kind: string;
  /** Validates and types the stored kwargs; a mismatch fails the task with the zod message. */
  schema: ZodType<K>;
  run(kwargs: K, ctx: TriggerRunContext): Observable<TriggerEvent>;
  /** Routing keys stored with the trigger so any triggerer can find it by event key. */
  routingKeys?(kwargs: K): string[];
  /**
   * Map a routed event to this trigger's TriggerEvent without running it (null: not final yet, or
   * not about this trigger). Lets a triggerer that receives an event for a trigger held elsewhere
   * resume the task itself. A kind without it can only be resumed by the triggerer that holds it,
   * so such an event is handed back for redelivery rather than acknowledged.
   */
  fromEvent?(kwargs: K, event: EventBridgeEvent): TriggerEvent | null;
  /** What it waits on, for `triggers list` and the UI. */
  describe?(kwargs: K): string;
}

/** A kind whose kwargs type has been erased (registries hold kinds of many kwargs types). */
export type AnyTriggerKind = TriggerKind<never>;

/** Erase a kind's kwargs type for a registry; its schema re-establishes it at run time. */
export function anyTriggerKind<K>(def: TriggerKind<K>): AnyTriggerKind {
  return def as unknown as AnyTriggerKind;
}
