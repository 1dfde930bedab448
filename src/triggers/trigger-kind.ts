/**
 * A trigger kind: how the triggerer turns a stored `{kind, kwargs}` back into something that runs.
 * `run` returns an Observable; its FIRST emitted TriggerEvent resumes the task, an error fails the
 * task into `__fail__`, and unsubscribing cancels the wait (never the remote job).
 */
import type { Observable } from 'rxjs';
import type { ZodType } from 'zod';
import type { Logger } from 'pino';
import type { EventBridgeEvent } from '../events/eventbridge-event.ts';
import type { TriggerEvent } from './serialized-trigger.ts';

/** What a running trigger can use; provided by the triggerer. Extended as the triggerer grows. */
export interface TriggerRunContext {
  triggerId: string;
  /** Absolute deadline of the trigger (the triggerer also enforces it). */
  deadline: Date | null;
  logger: Logger;
  /** Events routed to `key` from every shared event source of this triggerer (O(1) by key). */
  eventsFor(key: string): Observable<EventBridgeEvent>;
  /** Named services the triggerer was started with (AWS client factory, reconciler, …). */
  service<T>(name: string): T;
  /**
   * Emits once at `moment` (at once if it passed). Backed by the triggerer's single timer heap, so
   * 100k waiting triggers cost no 100k timers; kinds fall back to rxjs `timer` when absent.
   */
  at?(moment: Date): Observable<Date>;
  /** When the trigger row was created (lower bound for reconcile sweeps). */
  createdAt?: Date;
  /**
   * Call synchronously while handling a routed event when this trigger will emit its outcome
   * LATER (after some async work): the event being delivered is then acknowledged (its SQS message
   * deleted) only once this trigger's outcome is persisted, and redelivered if the trigger is
   * dropped first. Without it, an async emission would let the event be acked too early.
   */
  holdDelivery?(): void;
}

export interface TriggerKind<K = Record<string, unknown>> {
  kind: string;
  /** Validates and types the stored kwargs; a mismatch fails the task with the zod message. */
  schema: ZodType<K>;
  run(kwargs: K, ctx: TriggerRunContext): Observable<TriggerEvent>;
  /** Routing keys stored with the trigger so any triggerer can find it by event key. */
  routingKeys?(kwargs: K): string[];
  /**
   * Map a routed event to this trigger's TriggerEvent without running it (null: not final yet).
   * Lets a triggerer that receives an event for a trigger held elsewhere resume the task itself.
   */
  fromEvent?(kwargs: K, event: EventBridgeEvent): TriggerEvent | null;
  /** What it waits on, for `triggers list` and the UI. */
  describe?(kwargs: K): string;
}
