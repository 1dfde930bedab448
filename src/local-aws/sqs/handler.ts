/**
 * SQS over AWS JSON 1.0 (`AmazonSQS.*`, what the v3 SDK sends) and, for old
 * clients, the legacy query protocol (form `Action=...`, XML responses). Both
 * run the same action functions; the query path only translates shapes.
 */
import { AwsError, xmlEscape } from '../errors.ts';
import { isObject, optString, stringMap, type JsonObject } from '../util.ts';
import type { MessageAttributeValue } from './md5.ts';
import { invalidParam, queueDoesNotExist, type QueueState, type ReceivedMessage, type SqsQueues } from './queues.ts';

export interface SqsContext {
  queues: SqsQueues;
  signal?: AbortSignal;
}

function messageAttrs(v: unknown): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  if (!isObject(v)) return out;
  for (const [name, raw] of Object.entries(v)) {
    if (!isObject(raw) || typeof raw.DataType !== 'string')
      throw invalidParam(`The message attribute '${name}' must contain non-empty message attribute value.`);
    const a: MessageAttributeValue = { DataType: raw.DataType };
    if (typeof raw.StringValue === 'string') a.StringValue = raw.StringValue;
    else if (typeof raw.BinaryValue === 'string') a.BinaryValue = raw.BinaryValue;
    else if (raw.BinaryValue instanceof Uint8Array) a.BinaryValue = Buffer.from(raw.BinaryValue).toString('base64');
    else throw invalidParam(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${raw.DataType}'.`);
    out[name] = a;
  }
  if (Object.keys(out).length > 10) throw invalidParam('Number of message attributes [' + Object.keys(out).length + '] exceeds the allowed maximum [10].');
  return out;
}

function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function intParam(body: JsonObject, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalidParam(`Value ${String(v)} for parameter ${key} is invalid. Reason: Must be between ${min} and ${max}, if provided.`);
  }
  return n;
}

function renderMessage(r: ReceivedMessage, systemNames: string[], attrNames: string[]): JsonObject {
  const m = r.msg;
  const out: JsonObject = { MessageId: m.id, ReceiptHandle: r.handle, MD5OfBody: m.md5, Body: m.body };
  const all = systemNames.includes('All');
  const sys: Record<string, string> = {};
  const want = (n: string) => all || systemNames.includes(n);
  if (want('SenderId')) sys.SenderId = m.senderId;
  if (want('SentTimestamp')) sys.SentTimestamp = String(m.sentAt);
  if (want('ApproximateReceiveCount')) sys.ApproximateReceiveCount = String(m.receiveCount);
  if (want('ApproximateFirstReceiveTimestamp') && m.firstReceiveAt) sys.ApproximateFirstReceiveTimestamp = String(m.firstReceiveAt);
  if (want('MessageGroupId') && m.groupId) sys.MessageGroupId = m.groupId;
  if (want('MessageDeduplicationId') && m.dedupId) sys.MessageDeduplicationId = m.dedupId;
  if (want('SequenceNumber') && m.seq) sys.SequenceNumber = m.seq;
  if (want('DeadLetterQueueSourceArn') && m.deadLetterSourceArn) sys.DeadLetterQueueSourceArn = m.deadLetterSourceArn;
  if (Object.keys(sys).length) out.Attributes = sys;
  const names = Object.keys(m.attrs).filter((n) =>
    attrNames.some((p) => p === 'All' || p === '.*' || p === n || (p.endsWith('.*') && n.startsWith(p.slice(0, -1)))),
  );
  if (names.length) {
    const picked: Record<string, MessageAttributeValue> = {};
    for (const n of names) picked[n] = m.attrs[n];
    out.MessageAttributes = picked;
    out.MD5OfMessageAttributes = m.md5Attrs;
  }
  return out;
}

function batchEntries(body: JsonObject, key: string): JsonObject[] {
  const entries = Array.isArray(body[key]) ? (body[key] as unknown[]).filter(isObject) : [];
  if (entries.length === 0)
    throw new AwsError('EmptyBatchRequest', 'There should be at least one entry in the request.', {
      queryError: 'AWS.SimpleQueueService.EmptyBatchRequest;Sender',
    });
  if (entries.length > 10)
    throw new AwsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`, {
      queryError: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest;Sender',
    });
  const ids = new Set<string>();
  for (const e of entries) {
    const id = String(e.Id ?? '');
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(id))
      throw new AwsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
        { queryError: 'AWS.SimpleQueueService.InvalidBatchEntryId;Sender' },
      );
    if (ids.has(id))
      throw new AwsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, { queryError: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct;Sender' });
    ids.add(id);
  }
  return entries;
}

function batchFailure(id: string, e: unknown): JsonObject {
  const err = e instanceof AwsError ? e : new AwsError('InternalError', String(e), { status: 500 });
  return { Id: id, SenderFault: err.status < 500, Code: err.queryError?.split(';')[0] ?? err.code, Message: err.message };
}

function sendOne(q: QueueState, e: JsonObject, ctx: SqsContext): JsonObject {
  const body = optString(e, 'MessageBody');
  if (body === undefined)
    throw new AwsError('MissingParameter', 'The request must contain the parameter MessageBody.', { queryError: 'MissingParameter;Sender' });
  const m = ctx.queues.send(q, {
    body,
    delaySeconds: intParam(e, 'DelaySeconds', 0, 900),
    attrs: messageAttrs(e.MessageAttributes),
    groupId: optString(e, 'MessageGroupId'),
    dedupId: optString(e, 'MessageDeduplicationId'),
  });
  const out: JsonObject = { MessageId: m.id, MD5OfMessageBody: m.md5 };
  if (m.md5Attrs) out.MD5OfMessageAttributes = m.md5Attrs;
  if (m.seq) out.SequenceNumber = m.seq;
  return out;
}

export async function handleSqs(action: string, body: JsonObject, ctx: SqsContext): Promise<JsonObject> {
  const { queues } = ctx;
  switch (action) {
    case 'CreateQueue': {
      const name = optString(body, 'QueueName');
      if (!name) throw new AwsError('MissingParameter', 'The request must contain the parameter QueueName.', { queryError: 'MissingParameter;Sender' });
      const q = queues.create(name, stringMap(body.Attributes), stringMap(body.tags));
      return { QueueUrl: q.url };
    }
    case 'GetQueueUrl': {
      const name = optString(body, 'QueueName') ?? '';
      const q = queues.queues.get(name);
      if (!q) throw queueDoesNotExist();
      return { QueueUrl: q.url };
    }
    case 'ListQueues': {
      const prefix = optString(body, 'QueueNamePrefix') ?? '';
      const max = intParam(body, 'MaxResults', 1, 1000);
      const names = [...queues.queues.keys()].filter((n) => n.startsWith(prefix)).sort();
      const token = optString(body, 'NextToken');
      const start = token ? Number(Buffer.from(token, 'base64url').toString()) || 0 : 0;
      const page = max ? names.slice(start, start + max) : names.slice(0, 1000);
      const out: JsonObject = { QueueUrls: page.map((n) => queues.queues.get(n)!.url) };
      if (max && start + max < names.length) out.NextToken = Buffer.from(String(start + max)).toString('base64url');
      return out;
    }
    case 'DeleteQueue':
      queues.delete(queues.byUrl(optString(body, 'QueueUrl')));
      return {};
    case 'GetQueueAttributes': {
      const q = queues.byUrl(optString(body, 'QueueUrl'));
      const names = strList(body.AttributeNames);
      return { Attributes: queues.attributes(q, names.length ? names : []) };
    }
    case 'SetQueueAttributes':
      queues.setAttributes(queues.byUrl(optString(body, 'QueueUrl')), stringMap(body.Attributes));
      return {};
    case 'SendMessage':
      return sendOne(queues.byUrl(optString(body, 'QueueUrl')), body, ctx);
    case 'SendMessageBatch': {
      const q = queues.byUrl(optString(body, 'QueueUrl'));
      const Successful: JsonObject[] = [];
      const Failed: JsonObject[] = [];
      for (const e of batchEntries(body, 'Entries')) {
        try {
          Successful.push({ Id: e.Id, ...sendOne(q, e, ctx) });
        } catch (err) {
          Failed.push(batchFailure(String(e.Id), err));
        }
      }
      return { Successful, Failed };
    }
    case 'ReceiveMessage': {
      const q = queues.byUrl(optString(body, 'QueueUrl'));
      const max = intParam(body, 'MaxNumberOfMessages', 1, 10) ?? 1;
      const vt = intParam(body, 'VisibilityTimeout', 0, 43200);
      const wait = intParam(body, 'WaitTimeSeconds', 0, 20);
      const got = await queues.receive(q, { max, visibilityTimeout: vt, waitSeconds: wait, signal: ctx.signal });
      const sys = [...strList(body.AttributeNames), ...strList(body.MessageSystemAttributeNames)];
      const attrNames = strList(body.MessageAttributeNames);
      return got.length ? { Messages: got.map((r) => renderMessage(r, sys, attrNames)) } : {};
    }
    case 'DeleteMessage':
      queues.deleteMessage(queues.byUrl(optString(body, 'QueueUrl')), optString(body, 'ReceiptHandle') ?? '');
      return {};
    case 'DeleteMessageBatch': {
      const q = queues.byUrl(optString(body, 'QueueUrl'));
      const Successful: JsonObject[] = [];
      const Failed: JsonObject[] = [];
      for (const e of batchEntries(body, 'Entries')) {
        try {
          queues.deleteMessage(q, optString(e, 'ReceiptHandle') ?? '');
          Successful.push({ Id: e.Id });
        } catch (err) {
          Failed.push(batchFailure(String(e.Id), err));
        }
      }
      return { Successful, Failed };
    }
    case 'ChangeMessageVisibility':
      queues.changeVisibility(queues.byUrl(optString(body, 'QueueUrl')), optString(body, 'ReceiptHandle') ?? '', Number(body.VisibilityTimeout));
      return {};
    case 'ChangeMessageVisibilityBatch': {
      const q = queues.byUrl(optString(body, 'QueueUrl'));
      const Successful: JsonObject[] = [];
      const Failed: JsonObject[] = [];
      for (const e of batchEntries(body, 'Entries')) {
        try {
          queues.changeVisibility(q, optString(e, 'ReceiptHandle') ?? '', Number(e.VisibilityTimeout));
          Successful.push({ Id: e.Id });
        } catch (err) {
          Failed.push(batchFailure(String(e.Id), err));
        }
      }
      return { Successful, Failed };
    }
    case 'PurgeQueue':
      queues.purge(queues.byUrl(optString(body, 'QueueUrl')));
      return {};
    case 'ListQueueTags':
      return { Tags: queues.byUrl(optString(body, 'QueueUrl')).tags };
    case 'TagQueue': {
      const q = queues.byUrl(optString(body, 'QueueUrl'));
      Object.assign(q.tags, stringMap(body.Tags));
      return {};
    }
    case 'UntagQueue': {
      const q = queues.byUrl(optString(body, 'QueueUrl'));
      for (const k of strList(body.TagKeys)) delete q.tags[k];
      return {};
    }
    case 'ListDeadLetterSourceQueues': {
      const q = queues.byUrl(optString(body, 'QueueUrl'));
      const urls = [...queues.queues.values()]
        .filter((s) => {
          const rp = s.attributes.RedrivePolicy;
          return rp ? (JSON.parse(rp) as { deadLetterTargetArn?: string }).deadLetterTargetArn === q.arn : false;
        })
        .map((s) => s.url);
      return { queueUrls: urls };
    }
  }
  throw new AwsError('UnsupportedOperation', `Operation ${action} is not supported by local AWS SQS.`, {
    queryError: 'AWS.SimpleQueueService.UnsupportedOperation;Sender',
  });
}

// ------------------------------------------------------------------ legacy query protocol

/** Rebuilds the JSON-shaped input from flattened query params (`Attribute.1.Name`, `MessageAttribute.1.Value.StringValue`, ...). */
export function queryToJson(params: URLSearchParams): JsonObject {
  const out: JsonObject = {};
  const maps: Record<string, Record<string, JsonObject>> = {};
  const lists: Record<string, Record<string, JsonObject | string>> = {};
  for (const [k, v] of params) {
    if (k === 'Action' || k === 'Version') continue;
    let m: RegExpExecArray | null;
    if ((m = /^(Attribute|Tag|MessageAttribute|MessageSystemAttribute)\.(\d+)\.(.+)$/.exec(k))) {
      const target = m[1] === 'Attribute' ? 'Attributes' : m[1] === 'Tag' ? 'Tags' : `${m[1]}s`;
      ((maps[target] ??= {})[m[2]] ??= {})[m[3]] = v;
    } else if ((m = /^(\w+?)(?:\.member)?\.(\d+)$/.exec(k))) {
      (lists[m[1]] ??= {})[m[2]] = v;
    } else if ((m = /^(\w+?Entry)\.(\d+)\.(.+)$/.exec(k))) {
      const entry = ((lists.Entries ??= {})[m[2]] ??= {}) as JsonObject;
      const sub = m[3];
      const am = /^MessageAttribute\.(\d+)\.(.+)$/.exec(sub);
      if (am) {
        const attrs = ((entry.__attrs as Record<string, JsonObject>) ??= {});
        (attrs[am[1]] ??= {})[am[2]] = v;
      } else entry[sub] = v;
    } else out[k] = v;
  }
  for (const [target, items] of Object.entries(maps)) {
    const map: JsonObject = {};
    for (const it of Object.values(items)) {
      const name = String(it.Name ?? it.Key ?? '');
      if (target === 'Attributes' || target === 'Tags') map[name] = it.Value;
      else map[name] = { DataType: it['Value.DataType'], StringValue: it['Value.StringValue'], BinaryValue: it['Value.BinaryValue'] };
    }
    out[target] = map;
  }
  for (const [name, items] of Object.entries(lists)) {
    const arr = Object.entries(items)
      .sort((a, b) => Number(a[0]) - Number(b[0]))
      .map(([, v]) => {
        if (isObject(v) && v.__attrs) {
          const attrs: JsonObject = {};
          for (const it of Object.values(v.__attrs as Record<string, JsonObject>)) {
            attrs[String(it.Name)] = { DataType: it['Value.DataType'], StringValue: it['Value.StringValue'], BinaryValue: it['Value.BinaryValue'] };
          }
          const { __attrs, ...rest } = v;
          void __attrs;
          return { ...rest, MessageAttributes: attrs };
        }
        return v;
      });
    out[name === 'AttributeName' ? 'AttributeNames' : name === 'MessageAttributeName' ? 'MessageAttributeNames' : name === 'TagKey' ? 'TagKeys' : name] = arr;
  }
  for (const k of ['MaxNumberOfMessages', 'VisibilityTimeout', 'WaitTimeSeconds', 'DelaySeconds', 'MaxResults']) {
    if (typeof out[k] === 'string') out[k] = Number(out[k]);
  }
  return out;
}

function xmlValue(name: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) {
    const member =
      name === 'QueueUrls' || name === 'queueUrls'
        ? 'QueueUrl'
        : name === 'Messages'
          ? 'Message'
          : name === 'Successful'
            ? null
            : name === 'Failed'
              ? null
              : name;
    return v.map((x) => xmlValue(member ?? `${name}`, x)).join('');
  }
  if (isObject(v)) {
    if (name === 'Attributes' || name === 'Tags' || name === 'Tag') {
      const tag = name === 'Attributes' ? 'Attribute' : 'Tag';
      return Object.entries(v)
        .map(
          ([k, x]) =>
            `<${tag}><${tag === 'Tag' ? 'Key' : 'Name'}>${xmlEscape(k)}</${tag === 'Tag' ? 'Key' : 'Name'}><Value>${xmlEscape(String(x))}</Value></${tag}>`,
        )
        .join('');
    }
    if (name === 'MessageAttributes') {
      return Object.entries(v)
        .map(([k, x]) => {
          const a = x as JsonObject;
          const val =
            a.StringValue !== undefined
              ? `<StringValue>${xmlEscape(String(a.StringValue))}</StringValue>`
              : `<BinaryValue>${xmlEscape(String(a.BinaryValue))}</BinaryValue>`;
          return `<MessageAttribute><Name>${xmlEscape(k)}</Name><Value>${val}<DataType>${xmlEscape(String(a.DataType))}</DataType></Value></MessageAttribute>`;
        })
        .join('');
    }
    return `<${name}>${Object.entries(v)
      .map(([k, x]) => xmlValue(k, x))
      .join('')}</${name}>`;
  }
  return `<${name}>${xmlEscape(String(v))}</${name}>`;
}

export function jsonToQueryXml(action: string, out: JsonObject, requestId: string): string {
  let inner = '';
  for (const [k, v] of Object.entries(out)) {
    if (k === 'Successful' || k === 'Failed') {
      const entryTag = k === 'Successful' ? `${action.replace(/Batch$/, '')}BatchResultEntry` : 'BatchResultErrorEntry';
      inner += (v as JsonObject[]).map((e) => xmlValue(entryTag, e)).join('');
    } else inner += xmlValue(k, v);
  }
  return `<?xml version="1.0"?><${action}Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}
