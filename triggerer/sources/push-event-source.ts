/**
 * A source fed by `push(event)` — what `Runtime.emit` / `emitAndWait` and tests use. Unlike a plain
 * observable it honours nack: an event the consumer could not place yet is delivered again, as
 * SQS would, so an in-process event is never silently lost.
 */
import { Subject, type Observable } from 'rxjs';
import type { EventBridgeEvent } from '../../src/events/eventbridge-event.ts';
import type { EventSource, IncomingEvent } from './event-source.ts';

const noAck = (): Promise<void> => Promise.resolve();

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
