/**
 * Adapters that turn an embedding application's own streams into event sources. Their events
 * have no broker behind them, so ack is a no-op: delivery is as reliable as the caller's stream.
 */
import { Subject, map, type Observable } from 'rxjs';
import type { EventBridgeEvent } from './eventbridge-event.ts';
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

/** A source fed by `push(event)`; what `Runtime.emit` and tests use. */
export class PushEventSource implements EventSource {
  private readonly subject = new Subject<IncomingEvent>();
  readonly events$: Observable<IncomingEvent> = this.subject.asObservable();

  constructor(readonly name: string) {}

  /**
   * Deliver an event; the returned promise settles once the consumer acknowledged it. A nack
   * (the consumer could not persist its effect yet, e.g. the task is mid-deferral) redelivers it
   * after a short backoff, as SQS would after the visibility timeout — an in-process event is
   * never silently lost. Rejects after `maxAttempts` deliveries.
   */
  push(event: EventBridgeEvent, opts: { maxAttempts?: number; backoffMs?: number } = {}): Promise<void> {
    const maxAttempts = opts.maxAttempts ?? 50;
    const backoffMs = opts.backoffMs ?? 50;
    return new Promise<void>((resolve, reject) => {
      let attempt = 0;
      const deliver = (): void => {
        attempt++;
        let settled = false;
        this.subject.next({
          event,
          ack: () => {
            if (!settled) {
              settled = true;
              resolve();
            }
            return Promise.resolve();
          },
          nack: () => {
            if (settled) return;
            settled = true;
            if (attempt >= maxAttempts) reject(new Error(`event ${event.id} was not accepted after ${attempt} deliveries`));
            else setTimeout(deliver, Math.min(backoffMs * attempt, 1_000)).unref?.();
          },
        });
      };
      deliver();
    });
  }

  /** Fire-and-forget variant: nobody waits for the acknowledgement. */
  emit(event: EventBridgeEvent): void {
    this.subject.next({ event, ack: noAck });
  }

  complete(): void {
    this.subject.complete();
  }
}
