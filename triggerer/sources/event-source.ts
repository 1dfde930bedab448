/**
 * Shared event streams. A triggerer consumes each source once and routes every event by key to
 * the triggers it holds, so 100k triggers cost one consumer per source, not 100k pollers.
 */
import type { Observable } from 'rxjs';
import type { EventBridgeEvent } from '../../src/events/eventbridge-event.ts';

/** One delivered event with its acknowledgement handle. */
export interface IncomingEvent {
  event: EventBridgeEvent;
  /**
   * Called by the consumer only after every resume this event caused is persisted in MongoDB
   * (SQS: deletes the message). Sources must expect the same event again if ack never comes.
   */
  ack(): Promise<void>;
  /** Hand the event back for redelivery (SQS: visibility 0). Optional: some sources cannot. */
  nack?(): void;
}

export interface EventSource {
  /** Stable name, used in logs and metric labels. */
  name: string;
  /** Cold observable: subscribing starts consumption, unsubscribing stops it. */
  events$: Observable<IncomingEvent>;
}
