/**
 * Key → subscribers, for O(1) routing of shared event streams to the triggers that wait on them.
 * Routing an event costs one Map lookup per routing key of the event, independent of how many
 * triggers are held (100k triggers × 1k events/s would not fit a filter-per-trigger design).
 *
 * Each subscription names its owner (the trigger it belongs to), so the dispatcher can tell which
 * triggers an event reached and hand it to one more trigger later (`routeTo`) — the trigger that
 * started running here between the event's routing and its MongoDB lookup.
 */
import { Observable } from 'rxjs';
import type { EventBridgeEvent } from '../../src/events/eventbridge-event.ts';
import { RoutingKeyIndex } from '../../src/events/routing-keys.ts';
import { Delivery } from './delivery.ts';

/** Receives one routed event with its delivery (see Delivery). */
export type Receive = (event: EventBridgeEvent, delivery: Delivery) => void;

interface Subscriber {
  owner: string | null;
  receive: Receive;
}

export interface RouteResult {
  keys: string[];
  /** Deliveries made (0: nobody here holds any of its keys). */
  delivered: number;
  /** Keys of the event nobody here subscribes to. */
  unheldKeys: string[];
  /** Owners (trigger ids) the event reached. */
  reached: Set<string>;
}

export class EventRouter {
  private readonly subscribers = new Map<string, Set<Subscriber>>();

  constructor(private readonly index: RoutingKeyIndex = new RoutingKeyIndex()) {}

  /** Register `receive` for `key` on behalf of `owner`; returns the unsubscribe. */
  subscribe(key: string, owner: string | null, receive: Receive): () => void {
    const s: Subscriber = { owner, receive };
    let set = this.subscribers.get(key);
    if (!set) {
      set = new Set();
      this.subscribers.set(key, set);
    }
    set.add(s);
    return () => {
      const current = this.subscribers.get(key);
      if (!current) return;
      current.delete(s);
      if (current.size === 0) this.subscribers.delete(key);
    };
  }

  /** Events routed to `key` (without their delivery); subscribing registers interest, unsubscribing drops it. */
  eventsFor(key: string, owner: string | null = null): Observable<EventBridgeEvent> {
    return new Observable<EventBridgeEvent>((sub) => this.subscribe(key, owner, (e) => sub.next(e)));
  }

  /** The routing keys of an event (the index's specific keys, the generic key, `*`). */
  keysOf(event: EventBridgeEvent): string[] {
    return this.index.keysOf(event);
  }

  /** Deliver synchronously to every subscriber of every key of the event. */
  route(event: EventBridgeEvent, keys: string[] = this.keysOf(event), delivery: Delivery = new Delivery(event, performance.now())): RouteResult {
    let delivered = 0;
    const unheldKeys: string[] = [];
    const reached = new Set<string>();
    for (const key of keys) {
      const set = this.subscribers.get(key);
      if (!set || set.size === 0) {
        unheldKeys.push(key);
        continue;
      }
      // Snapshot: a subscriber that completes on this event (take(1)) removes itself mid-loop.
      for (const s of [...set]) {
        if (s.owner !== null) reached.add(s.owner);
        s.receive(event, delivery);
        delivered++;
      }
    }
    return { keys, delivered, unheldKeys, reached };
  }

  /** Deliver to `owner`'s subscriptions among `keys` only; returns how many it reached. */
  routeTo(owner: string, event: EventBridgeEvent, keys: string[], delivery: Delivery): number {
    let delivered = 0;
    for (const key of keys) {
      for (const s of [...(this.subscribers.get(key) ?? [])]) {
        if (s.owner !== owner) continue;
        s.receive(event, delivery);
        delivered++;
      }
    }
    return delivered;
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
