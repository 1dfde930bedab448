/**
 * Key → subscribers, for O(1) routing of shared event streams to the triggers that wait on them.
 * Routing an event costs one Map lookup per routing key of the event, independent of how many
 * triggers are held (100k triggers × 1k events/s would not fit a filter-per-trigger design).
 */
import { Observable } from 'rxjs';
import type { EventBridgeEvent } from './eventbridge-event.ts';
import { routingKeysOf } from './routing-keys.ts';

type Deliver = (event: EventBridgeEvent) => void;

export interface RouteResult {
  keys: string[];
  /** Subscribers the event was delivered to (0: nobody here holds any of its keys). */
  delivered: number;
  /** Keys of the event nobody here subscribes to. */
  unheldKeys: string[];
}

export class EventRouter {
  private readonly subscribers = new Map<string, Set<Deliver>>();

  /** Events routed to `key`; subscribing registers interest, unsubscribing drops it. */
  eventsFor(key: string): Observable<EventBridgeEvent> {
    return new Observable<EventBridgeEvent>((sub) => {
      const deliver: Deliver = (e) => sub.next(e);
      let set = this.subscribers.get(key);
      if (!set) {
        set = new Set();
        this.subscribers.set(key, set);
      }
      set.add(deliver);
      return () => {
        const s = this.subscribers.get(key);
        if (!s) return;
        s.delete(deliver);
        if (s.size === 0) this.subscribers.delete(key);
      };
    });
  }

  /** Deliver synchronously to every subscriber of every key of the event. */
  route(event: EventBridgeEvent, keys: string[] = routingKeysOf(event)): RouteResult {
    let delivered = 0;
    const unheldKeys: string[] = [];
    for (const key of keys) {
      const set = this.subscribers.get(key);
      if (!set || set.size === 0) {
        unheldKeys.push(key);
        continue;
      }
      // Snapshot: a subscriber that completes on this event (take(1)) removes itself mid-loop.
      for (const deliver of [...set]) {
        deliver(event);
        delivered++;
      }
    }
    return { keys, delivered, unheldKeys };
  }

  has(key: string): boolean {
    return (this.subscribers.get(key)?.size ?? 0) > 0;
  }

  /** Number of distinct keys with at least one subscriber. */
  get size(): number {
    return this.subscribers.size;
  }

  keys(): IterableIterator<string> {
    return this.subscribers.keys();
  }
}
