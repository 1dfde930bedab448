/**
 * EventBridge → SQS consumer as an event source. One long-poll loop per subscription; a message
 * is deleted only when the consumer acks it (after the resumes it caused are persisted), its
 * visibility is extended while that work is pending, and anything unparsable is logged and
 * deleted (or left for the queue's DLQ) instead of crashing the loop. Delivery is at-least-once:
 * consumers must treat duplicates as no-ops.
 *
 * An event that belongs to someone else (`othersEvent`: another deployment's job, on a queue
 * shared by mistake) is never deleted: it is handed back at once, with a visibility that grows
 * with its receive count, so its own consumer gets it — or the queue's redrive policy moves it to
 * the dead-letter queue, where it is still there to see.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { EventSource, IncomingEvent } from './event-source.ts';
import { parseEventBridgeEnvelope } from '../../src/events/parse-event.ts';
import type { EventBridgeEvent } from '../../src/events/eventbridge-event.ts';
import { backoffDelayMs, sleep } from '../../src/util/backoff.ts';
import { TriggererMetrics } from '../../src/metrics/triggerer-metrics.ts';

export interface SqsEventSourceOptions {
  client: SQSClient;
  queueUrl: string;
  name?: string;
  /** Long-poll wait, seconds (SQS max 20). */
  waitTimeSeconds?: number;
  /** Messages per receive (SQS max 10). */
  maxMessages?: number;
  /** Visibility timeout asked for on receive and re-applied while a message's work is pending (s). */
  visibilityTimeout?: number;
  /** Stop receiving while this many messages await their ack (back-pressure). Default 1000. */
  maxInFlight?: number;
  /** Unparsable messages: delete them (default) or leave them for the queue's redrive policy / DLQ. */
  onMalformed?: 'delete' | 'leave';
  /** Events that are someone else's (e.g. another deployment's jobs): handed back, never deleted. */
  othersEvent?: (event: EventBridgeEvent) => boolean;
  logger?: Logger;
  /** Where malformed messages are counted (default: the process registry's triggerer metrics). */
  metrics?: TriggererMetrics;
}

interface InFlight {
  receiptHandle: string;
  extendedAt: number;
}

export class SqsEventSource implements EventSource {
  readonly name: string;
  readonly events$: Observable<IncomingEvent>;
  private readonly opts: Required<Omit<SqsEventSourceOptions, 'logger' | 'name' | 'metrics' | 'othersEvent'>> & {
    logger?: Logger;
    othersEvent?: (event: EventBridgeEvent) => boolean;
  };
  private readonly metrics: TriggererMetrics;

  constructor(opts: SqsEventSourceOptions) {
    this.name = opts.name ?? `sqs:${opts.queueUrl.split('/').pop() ?? opts.queueUrl}`;
    this.metrics = opts.metrics ?? TriggererMetrics.for();
    this.opts = {
      client: opts.client,
      queueUrl: opts.queueUrl,
      waitTimeSeconds: Math.min(20, Math.max(0, opts.waitTimeSeconds ?? 20)),
      maxMessages: Math.min(10, Math.max(1, opts.maxMessages ?? 10)),
      visibilityTimeout: Math.max(1, opts.visibilityTimeout ?? 30),
      maxInFlight: Math.max(1, opts.maxInFlight ?? 1000),
      onMalformed: opts.onMalformed ?? 'delete',
      othersEvent: opts.othersEvent,
      logger: opts.logger,
    };
    this.events$ = new Observable<IncomingEvent>((sub) => {
      const abort = new AbortController();
      const inFlight = new Map<string, InFlight>();
      let capacityWaiter: (() => void) | null = null;
      const settle = (id: string): void => {
        inFlight.delete(id);
        capacityWaiter?.();
        capacityWaiter = null;
      };
      const extender = setInterval(() => void this.extendVisibility(inFlight), (this.opts.visibilityTimeout * 1000) / 2);
      extender.unref();
      void this.loop(
        abort.signal,
        inFlight,
        settle,
        (e) => sub.next(e),
        () => new Promise<void>((r) => (capacityWaiter = r)),
      );
      return () => {
        abort.abort();
        clearInterval(extender);
        capacityWaiter?.();
      };
    });
  }

  private async loop(
    signal: AbortSignal,
    inFlight: Map<string, InFlight>,
    settle: (id: string) => void,
    emit: (e: IncomingEvent) => void,
    waitForCapacity: () => Promise<void>,
  ): Promise<void> {
    const { client, queueUrl, logger } = this.opts;
    let failures = 0;
    while (!signal.aborted) {
      const room = this.opts.maxInFlight - inFlight.size;
      if (room <= 0) {
        await waitForCapacity();
        continue;
      }
      let messages: Message[];
      try {
        const res = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(this.opts.maxMessages, room),
            WaitTimeSeconds: this.opts.waitTimeSeconds,
            VisibilityTimeout: this.opts.visibilityTimeout,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { abortSignal: signal },
        );
        messages = res.Messages ?? [];
        failures = 0;
      } catch (e) {
        if (signal.aborted) return;
        failures++;
        const delay = backoffDelayMs(failures, { baseMs: 200, maxMs: 20_000 });
        logger?.warn({ err: e, source: this.name, retryInMs: delay }, 'SQS receive failed; retrying');
        await sleep(delay, signal);
        continue;
      }
      for (const m of messages) {
        if (!m.ReceiptHandle) continue;
        const parsed = parseEventBridgeEnvelope(m.Body);
        if (!parsed.ok) {
          this.metrics.eventsMalformed.inc({ source: this.name });
          logger?.error(
            { source: this.name, messageId: m.MessageId, reason: parsed.reason },
            `Malformed event message (${this.opts.onMalformed === 'delete' ? 'deleted' : 'left for the DLQ'})`,
          );
          if (this.opts.onMalformed === 'delete') await this.deleteQuietly(m.ReceiptHandle);
          continue;
        }
        if (this.opts.othersEvent?.(parsed.event)) {
          await this.handBack(m, parsed.event);
          continue;
        }
        const id = m.MessageId ?? m.ReceiptHandle;
        const receiptHandle = m.ReceiptHandle;
        inFlight.set(id, { receiptHandle, extendedAt: Date.now() });
        let settled = false;
        emit({
          event: parsed.event,
          ack: async () => {
            if (settled) return;
            settled = true;
            try {
              await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
            } finally {
              settle(id);
            }
          },
          nack: () => {
            if (settled) return;
            settled = true;
            settle(id);
            client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: 0 })).catch((e: unknown) => {
              logger?.warn({ err: e, source: this.name }, 'SQS nack (visibility 0) failed; the message reappears after its visibility timeout');
            });
          },
        });
      }
    }
  }

  /** Messages whose work is still pending get another visibility timeout before theirs runs out. */
  private async extendVisibility(inFlight: Map<string, InFlight>): Promise<void> {
    const now = Date.now();
    const halfMs = (this.opts.visibilityTimeout * 1000) / 2;
    const due = [...inFlight.entries()].filter(([, f]) => now - f.extendedAt >= halfMs);
    for (let i = 0; i < due.length; i += 10) {
      const chunk = due.slice(i, i + 10);
      try {
        await this.opts.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.opts.queueUrl,
            Entries: chunk.map(([, f], j) => ({ Id: String(j), ReceiptHandle: f.receiptHandle, VisibilityTimeout: this.opts.visibilityTimeout })),
          }),
        );
        for (const [, f] of chunk) f.extendedAt = now;
      } catch (e) {
        this.opts.logger?.warn({ err: e, source: this.name }, 'Extending SQS visibility failed; a message may be redelivered (duplicates are no-ops)');
      }
    }
  }

  /** Someone else's event: visible again soon (sooner the first times), never deleted by us. */
  private async handBack(m: Message, event: EventBridgeEvent): Promise<void> {
    const received = Number(m.Attributes?.ApproximateReceiveCount ?? '1') || 1;
    const visibility = Math.min(60, 2 ** Math.min(received - 1, 6) - 1);
    this.opts.logger?.debug({ source: this.name, messageId: m.MessageId, eventId: event.id, received }, "Another deployment's event: handed back, not deleted");
    try {
      await this.opts.client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: this.opts.queueUrl, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: visibility }),
      );
    } catch (e) {
      this.opts.logger?.warn({ err: e, source: this.name }, "Handing back another deployment's event failed; it reappears after its visibility timeout");
    }
  }

  private async deleteQuietly(receiptHandle: string): Promise<void> {
    try {
      await this.opts.client.send(new DeleteMessageCommand({ QueueUrl: this.opts.queueUrl, ReceiptHandle: receiptHandle }));
    } catch (e) {
      this.opts.logger?.warn({ err: e, source: this.name }, 'Deleting a malformed SQS message failed');
    }
  }
}
