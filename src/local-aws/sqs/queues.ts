/**
 * SQS queue model: messages, visibility, receive counts, redrive to a DLQ,
 * FIFO groups/deduplication, and long-poll waiters. Long polls never block the
 * event loop: a waiter is a pending promise woken when a message is sent or
 * becomes visible again (via the shared scheduler), or when its wait ends.
 */
import { createHash } from 'node:crypto';
import { AwsError } from '../errors.ts';
import type { Scheduler, TimerHandle } from '../scheduler.ts';
import { md5Hex, newId, randomHex } from '../util.ts';
import { md5OfMessageAttributes, type MessageAttributeValue } from './md5.ts';

export interface StoredMessage {
  id: string;
  body: string;
  md5: string;
  attrs: Record<string, MessageAttributeValue>;
  md5Attrs?: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  receiptHandle?: string;
  groupId?: string;
  dedupId?: string;
  seq?: string;
  senderId: string;
  deadLetterSourceArn?: string;
}

export interface QueueState {
  name: string;
  url: string;
  arn: string;
  createdAt: number;
  modifiedAt: number;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  messages: StoredMessage[];
  /** FIFO deduplication ids -> expiry. */
  dedup: Record<string, number>;
  seqCounter: number;
  purgedAt?: number;
}

interface Waiter {
  wake: () => void;
}

export const queueDoesNotExist = () =>
  new AwsError('QueueDoesNotExist', 'The specified queue does not exist.', { queryError: 'AWS.SimpleQueueService.NonExistentQueue;Sender' });

export const invalidParam = (message: string) => new AwsError('InvalidParameterValue', message, { queryError: 'InvalidParameterValue;Sender' });

export const DEFAULT_QUEUE_ATTRIBUTES: Record<string, string> = {
  VisibilityTimeout: '30',
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
  SqsManagedSseEnabled: 'true',
};

const SETTABLE = new Set([
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'Policy',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
]);

function intAttr(name: string, v: string, min: number, max: number): void {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) {
    throw new AwsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`, { queryError: 'InvalidAttributeValue;Sender' });
  }
}

export interface ReceivedMessage {
  msg: StoredMessage;
  handle: string;
}

export class SqsQueues {
  readonly queues = new Map<string, QueueState>();
  private waiters = new Map<string, Set<Waiter>>();
  private wakeTimers = new Map<string, TimerHandle>();
  private closing = false;

  constructor(
    private readonly region: string,
    private readonly accountId: string,
    private readonly baseUrl: () => string,
    private readonly scheduler: Scheduler,
    private readonly onChange: () => void,
  ) {}

  queueUrl(name: string): string {
    return `${this.baseUrl()}/${this.accountId}/${name}`;
  }

  arnOf(name: string): string {
    return `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
  }

  /** Accepts a queue URL in any host form (`http://host:port/<acct>/<name>`, `https://sqs.../<acct>/<name>`) or an ARN. */
  byUrl(url: string | undefined): QueueState {
    if (!url) throw new AwsError('MissingParameter', 'The request must contain the parameter QueueUrl.', { queryError: 'MissingParameter;Sender' });
    const m = /\/(\d{12}|[^/]+)\/([^/?#]+)\/?$/.exec(url) ?? /^arn:aws:sqs:[^:]*:[^:]*:(.+)$/.exec(url);
    const name = m ? (m.length === 3 ? m[2] : m[1]) : undefined;
    const q = name ? this.queues.get(name) : undefined;
    if (!q) throw queueDoesNotExist();
    return q;
  }

  byArn(arn: string): QueueState | undefined {
    const name = /^arn:aws:sqs:[^:]*:[^:]*:(.+)$/.exec(arn)?.[1];
    return name ? this.queues.get(name) : undefined;
  }

  validateAttributes(attrs: Record<string, string>, fifo: boolean): void {
    for (const [k, v] of Object.entries(attrs)) {
      if (!SETTABLE.has(k)) throw new AwsError('InvalidAttributeName', `Unknown Attribute ${k}.`, { queryError: 'InvalidAttributeName;Sender' });
      if (k === 'VisibilityTimeout') intAttr(k, v, 0, 43200);
      if (k === 'DelaySeconds') intAttr(k, v, 0, 900);
      if (k === 'ReceiveMessageWaitTimeSeconds') intAttr(k, v, 0, 20);
      if (k === 'MessageRetentionPeriod') intAttr(k, v, 60, 1209600);
      if (k === 'MaximumMessageSize') intAttr(k, v, 1024, 1048576);
      if (k === 'RedrivePolicy' && v !== '') {
        let p: unknown;
        try {
          p = JSON.parse(v);
        } catch {
          throw new AwsError('InvalidAttributeValue', 'Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.', {
            queryError: 'InvalidAttributeValue;Sender',
          });
        }
        const pol = p as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
        const mrc = Number(pol.maxReceiveCount);
        if (typeof pol.deadLetterTargetArn !== 'string' || !Number.isInteger(mrc) || mrc < 1 || mrc > 1000) {
          throw new AwsError(
            'InvalidAttributeValue',
            'Value {"deadLetterTargetArn", "maxReceiveCount"} for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: deadLetterTargetArn or maxReceiveCount.',
            {
              queryError: 'InvalidAttributeValue;Sender',
            },
          );
        }
        const dlq = this.byArn(pol.deadLetterTargetArn);
        if (!dlq) {
          throw new AwsError('InvalidAttributeValue', `Value ${v} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`, {
            queryError: 'InvalidAttributeValue;Sender',
          });
        }
        if ((dlq.attributes.FifoQueue === 'true') !== fifo) {
          throw new AwsError(
            'InvalidAttributeValue',
            `Value ${v} for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.`,
            { queryError: 'InvalidAttributeValue;Sender' },
          );
        }
      }
      if (k === 'Policy' && v !== '') {
        try {
          JSON.parse(v);
        } catch {
          throw new AwsError('InvalidAttributeValue', 'Invalid value for the parameter Policy.', { queryError: 'InvalidAttributeValue;Sender' });
        }
      }
    }
  }

  create(name: string, attrs: Record<string, string>, tags: Record<string, string>): QueueState {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name.replace(/\.fifo$/, '')) || name.length > 80) {
      throw invalidParam('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    }
    const fifo = name.endsWith('.fifo');
    if (attrs.FifoQueue === 'true' && !fifo)
      throw invalidParam('The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix.');
    if (fifo && attrs.FifoQueue !== 'true') {
      throw invalidParam('The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix.');
    }
    this.validateAttributes(attrs, fifo);
    const existing = this.queues.get(name);
    if (existing) {
      for (const [k, v] of Object.entries(attrs)) {
        if ((existing.attributes[k] ?? DEFAULT_QUEUE_ATTRIBUTES[k]) !== v) {
          throw new AwsError('QueueNameExists', 'A queue already exists with the same name and a different value for attribute ' + k, {
            queryError: 'QueueAlreadyExists;Sender',
          });
        }
      }
      return existing;
    }
    const now = Date.now();
    const q: QueueState = {
      name,
      url: this.queueUrl(name),
      arn: this.arnOf(name),
      createdAt: now,
      modifiedAt: now,
      attributes: {
        ...DEFAULT_QUEUE_ATTRIBUTES,
        ...(fifo ? { ContentBasedDeduplication: 'false', DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' } : {}),
        ...attrs,
      },
      tags,
      messages: [],
      dedup: {},
      seqCounter: 0,
    };
    this.queues.set(name, q);
    this.onChange();
    return q;
  }

  delete(q: QueueState): void {
    this.queues.delete(q.name);
    for (const w of this.waiters.get(q.name) ?? []) w.wake();
    this.waiters.delete(q.name);
    this.onChange();
  }

  setAttributes(q: QueueState, attrs: Record<string, string>): void {
    this.validateAttributes(attrs, q.attributes.FifoQueue === 'true');
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'FifoQueue' && v !== q.attributes.FifoQueue)
        throw new AwsError('InvalidAttributeName', 'You can specify the FifoQueue attribute only when creating a queue.', {
          queryError: 'InvalidAttributeName;Sender',
        });
      if (v === '' && (k === 'RedrivePolicy' || k === 'Policy')) delete q.attributes[k];
      else q.attributes[k] = v;
    }
    q.modifiedAt = Date.now();
    this.onChange();
  }

  private isFifo(q: QueueState): boolean {
    return q.attributes.FifoQueue === 'true';
  }

  /** Drops messages past their retention period. */
  private expire(q: QueueState, now: number): void {
    const retention = Number(q.attributes.MessageRetentionPeriod) * 1000;
    if (q.messages.length && q.messages[0].sentAt + retention < now) {
      q.messages = q.messages.filter((m) => m.sentAt + retention >= now);
      this.onChange();
    }
  }

  attributes(q: QueueState, names: string[]): Record<string, string> {
    const now = Date.now();
    this.expire(q, now);
    let visible = 0;
    let inflight = 0;
    let delayed = 0;
    for (const m of q.messages) {
      if (m.visibleAt <= now) visible++;
      else if (m.receiveCount > 0 && m.receiptHandle) inflight++;
      else delayed++;
    }
    const all: Record<string, string> = {
      ...q.attributes,
      QueueArn: q.arn,
      CreatedTimestamp: String(Math.floor(q.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(q.modifiedAt / 1000)),
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(inflight),
      ApproximateNumberOfMessagesDelayed: String(delayed),
    };
    if (names.includes('All')) return all;
    const out: Record<string, string> = {};
    for (const n of names) {
      if (!(n in all) && !SETTABLE.has(n) && !n.startsWith('Approximate')) {
        throw new AwsError('InvalidAttributeName', `Unknown Attribute ${n}.`, { queryError: 'InvalidAttributeName;Sender' });
      }
      if (n in all) out[n] = all[n];
    }
    return out;
  }

  send(
    q: QueueState,
    input: { body: string; delaySeconds?: number; attrs?: Record<string, MessageAttributeValue>; groupId?: string; dedupId?: string },
  ): StoredMessage {
    const maxSize = Number(q.attributes.MaximumMessageSize);
    if (Buffer.byteLength(input.body) > maxSize)
      throw invalidParam(`One or more parameters are invalid. Reason: Message must be shorter than ${maxSize} bytes.`);
    if (input.body.length === 0)
      throw new AwsError('MissingParameter', 'The request must contain the parameter MessageBody.', { queryError: 'MissingParameter;Sender' });
    // SQS rejects characters outside the XML 1.0 allowed set.
    if (/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\uD800-\uDFFF]/.test(input.body)) {
      throw new AwsError('InvalidMessageContents', 'Invalid binary character in message body', { queryError: 'InvalidMessageContents;Sender' });
    }
    const now = Date.now();
    const fifo = this.isFifo(q);
    let dedupId = input.dedupId;
    if (fifo) {
      if (!input.groupId)
        throw new AwsError('MissingParameter', 'The request must contain the parameter MessageGroupId.', { queryError: 'MissingParameter;Sender' });
      if (!dedupId) {
        if (q.attributes.ContentBasedDeduplication !== 'true') {
          throw invalidParam('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
        }
        dedupId = createHash('sha256').update(input.body).digest('hex');
      }
      for (const [k, exp] of Object.entries(q.dedup)) if (exp < now) delete q.dedup[k];
      const existing = q.dedup[dedupId];
      if (existing !== undefined) {
        const prev = q.messages.find((m) => m.dedupId === dedupId);
        if (prev) return prev;
      }
      q.dedup[dedupId] = now + 5 * 60_000;
    } else if (input.groupId && input.groupId.length > 128) {
      throw invalidParam('MessageGroupId must be at most 128 characters');
    }
    const delay = input.delaySeconds ?? Number(q.attributes.DelaySeconds);
    if (fifo && input.delaySeconds !== undefined && input.delaySeconds > 0) {
      throw invalidParam(
        'Value ' + input.delaySeconds + ' for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.',
      );
    }
    const attrs = input.attrs ?? {};
    const msg: StoredMessage = {
      id: newId(),
      body: input.body,
      md5: md5Hex(input.body),
      attrs,
      md5Attrs: Object.keys(attrs).length ? md5OfMessageAttributes(attrs) : undefined,
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
      groupId: input.groupId,
      dedupId: fifo ? dedupId : undefined,
      seq: fifo ? String(++q.seqCounter).padStart(20, '0') : undefined,
      senderId: 'AIDAIT2UOQQY3AUEKVGXU',
    };
    q.messages.push(msg);
    this.onChange();
    if (delay > 0) this.scheduleWake(q, msg.visibleAt);
    else this.notify(q);
    return msg;
  }

  private notify(q: QueueState): void {
    const ws = this.waiters.get(q.name);
    if (!ws) return;
    for (const w of ws) w.wake();
  }

  private scheduleWake(q: QueueState, at: number): void {
    const existing = this.wakeTimers.get(q.name);
    if (existing && !existing.cancelled && existing.at <= at) return;
    this.scheduler.cancel(existing);
    this.wakeTimers.set(
      q.name,
      this.scheduler.at(at, () => {
        this.wakeTimers.delete(q.name);
        this.notify(q);
        this.scheduleNextWake(q);
      }),
    );
  }

  private scheduleNextWake(q: QueueState): void {
    if (!this.waiters.get(q.name)?.size) return;
    const now = Date.now();
    let next = Infinity;
    for (const m of q.messages) if (m.visibleAt > now && m.visibleAt < next) next = m.visibleAt;
    if (next !== Infinity) this.scheduleWake(q, next);
  }

  /** Takes up to `max` visible messages, moving over-received ones to the DLQ. */
  private take(q: QueueState, max: number, visibilityTimeout: number): ReceivedMessage[] {
    const now = Date.now();
    this.expire(q, now);
    const out: ReceivedMessage[] = [];
    const redrive = q.attributes.RedrivePolicy
      ? (JSON.parse(q.attributes.RedrivePolicy) as { deadLetterTargetArn: string; maxReceiveCount: number | string })
      : undefined;
    const fifo = this.isFifo(q);
    const lockedGroups = new Set<string>();
    if (fifo) for (const m of q.messages) if (m.visibleAt > now && m.receiveCount > 0 && m.groupId) lockedGroups.add(m.groupId);
    let changed = false;
    for (let i = 0; i < q.messages.length && out.length < max; i++) {
      const m = q.messages[i];
      if (m.visibleAt > now) continue;
      if (fifo && m.groupId && lockedGroups.has(m.groupId)) continue;
      if (redrive && m.receiveCount >= Number(redrive.maxReceiveCount)) {
        const dlq = this.byArn(redrive.deadLetterTargetArn);
        q.messages.splice(i, 1);
        i--;
        changed = true;
        if (dlq) {
          m.deadLetterSourceArn = q.arn;
          m.visibleAt = now;
          m.receiptHandle = undefined;
          dlq.messages.push(m);
          this.notify(dlq);
        }
        continue;
      }
      m.receiveCount++;
      m.firstReceiveAt ??= now;
      m.visibleAt = now + visibilityTimeout * 1000;
      m.receiptHandle = Buffer.from(`${q.name} ${m.id} ${randomHex(16)}`).toString('base64');
      out.push({ msg: m, handle: m.receiptHandle });
      changed = true;
    }
    if (changed) this.onChange();
    if (out.length && visibilityTimeout > 0) this.scheduleWake(q, now + visibilityTimeout * 1000);
    return out;
  }

  /** ReceiveMessage with long polling: resolves as soon as messages are available or the wait ends. */
  async receive(q: QueueState, opts: { max: number; visibilityTimeout?: number; waitSeconds?: number; signal?: AbortSignal }): Promise<ReceivedMessage[]> {
    const vt = opts.visibilityTimeout ?? Number(q.attributes.VisibilityTimeout);
    const wait = opts.waitSeconds ?? Number(q.attributes.ReceiveMessageWaitTimeSeconds);
    const first = this.take(q, opts.max, vt);
    if (first.length || wait <= 0) return first;
    const deadline = Date.now() + wait * 1000;
    return new Promise<ReceivedMessage[]>((resolve) => {
      let done = false;
      const set = this.waiters.get(q.name) ?? new Set<Waiter>();
      this.waiters.set(q.name, set);
      const finish = (msgs: ReceivedMessage[]) => {
        if (done) return;
        done = true;
        set.delete(waiter);
        this.scheduler.cancel(timer);
        resolve(msgs);
      };
      const waiter: Waiter = {
        wake: () => {
          if (this.closing || !this.queues.has(q.name)) return finish([]);
          const got = this.take(q, opts.max, vt);
          if (got.length) finish(got);
        },
      };
      set.add(waiter);
      const timer = this.scheduler.at(deadline, () => finish([]));
      opts.signal?.addEventListener('abort', () => finish([]), { once: true });
      this.scheduleNextWake(q);
    });
  }

  /** Resolves a receipt handle to its message; stale handles of deleted messages resolve to undefined. */
  private resolveHandle(q: QueueState, handle: string): StoredMessage | undefined {
    let decoded = '';
    try {
      decoded = Buffer.from(handle, 'base64').toString('utf8');
    } catch {
      /* fallthrough */
    }
    const parts = decoded.split(' ');
    if (parts.length !== 3 || parts[0] !== q.name) {
      throw new AwsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`, {
        queryError: 'ReceiptHandleIsInvalid;Sender',
        status: 404,
      });
    }
    return q.messages.find((m) => m.id === parts[1]);
  }

  deleteMessage(q: QueueState, handle: string): void {
    const m = this.resolveHandle(q, handle);
    if (!m) return; // already deleted: SQS treats this as success
    q.messages.splice(q.messages.indexOf(m), 1);
    this.onChange();
    if (this.isFifo(q)) this.notify(q); // unlocks the message group
  }

  changeVisibility(q: QueueState, handle: string, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43200) {
      throw invalidParam(`Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`);
    }
    const m = this.resolveHandle(q, handle);
    const now = Date.now();
    if (!m || m.receiptHandle !== handle || m.visibleAt <= now) {
      throw new AwsError('MessageNotInflight', 'The message referred to is not in flight.', { queryError: 'AWS.SimpleQueueService.MessageNotInflight;Sender' });
    }
    m.visibleAt = now + seconds * 1000;
    this.onChange();
    if (seconds === 0) this.notify(q);
    else this.scheduleWake(q, m.visibleAt);
  }

  purge(q: QueueState): void {
    const now = Date.now();
    if (q.purgedAt && now - q.purgedAt < 60_000) {
      throw new AwsError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${q.name} is allowed every 60 seconds.`, {
        status: 403,
        queryError: 'AWS.SimpleQueueService.PurgeQueueInProgress;Sender',
      });
    }
    q.purgedAt = now;
    q.messages = [];
    this.onChange();
  }

  /** Wakes every pending long poll with an empty result (server shutdown). */
  closeAll(): void {
    this.closing = true;
    for (const set of this.waiters.values()) for (const w of [...set]) w.wake();
    for (const t of this.wakeTimers.values()) this.scheduler.cancel(t);
  }

  snapshot(): unknown {
    return { queues: [...this.queues.values()] };
  }

  restore(data: unknown): void {
    const d = data as { queues?: QueueState[] };
    for (const q of d.queues ?? []) {
      // URLs embed the port, which changes between runs.
      q.url = this.queueUrl(q.name);
      this.queues.set(q.name, q);
    }
  }

  refreshUrls(): void {
    for (const q of this.queues.values()) q.url = this.queueUrl(q.name);
  }
}
