/**
 * An embedding application's own stream as an event source (`Runtime.create({ eventSources:
 * [fromObservable('app', app$)] })`). Its events have no broker behind them, so ack is a no-op:
 * delivery is as reliable as the caller's stream.
 */
import { map, type Observable } from 'rxjs';
import type { EventBridgeEvent } from '../../src/events/eventbridge-event.ts';
import type { EventSource, IncomingEvent } from './event-source.ts';

const noAck = (): Promise<void> => Promise.resolve();

function isIncoming(v: EventBridgeEvent | IncomingEvent): v is IncomingEvent {
  return typeof (v as IncomingEvent).ack === 'function' && typeof (v as IncomingEvent).event === 'object';
}

/** Wrap any Observable of EventBridge-shaped events (or already-acknowledgeable ones). */
export function fromObservable(name: string, events$: Observable<EventBridgeEvent | IncomingEvent>): EventSource {
  return {
    name,
    events$: events$.pipe(map((e) => (isIncoming(e) ? e : { event: e, ack: noAck }))),
  };
}
