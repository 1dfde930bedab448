/**
 * CloudWatch Logs (AWS JSON 1.1, `Logs_20140328.*`). GetLogEvents tokens
 * follow the service's contract that pollers rely on: `f/<n>` / `b/<n>`
 * positions, and at the end of a stream the same forward token comes back, so
 * a tailer knows to wait and retry with it.
 */
import { AwsError } from '../errors.ts';
import { decodeToken, encodeToken, isObject, optBool, optNumber, optString, stringMap, type JsonObject } from '../util.ts';
import type { LogsStore, LogStream } from './store.ts';

export interface LogsContext {
  store: LogsStore;
  region: string;
  accountId: string;
}

const invalidParam = (m: string) => new AwsError('InvalidParameterException', m);

function reqString(body: JsonObject, key: string): string {
  const v = optString(body, key);
  if (v === undefined || v === '')
    throw invalidParam(`1 validation error detected: Value null at '${key}' failed to satisfy constraint: Member must not be null`);
  return v;
}

function groupName(body: JsonObject, ctx: LogsContext): string {
  const id = optString(body, 'logGroupIdentifier');
  if (id) return id.startsWith('arn:') ? id.replace(/^arn:[^:]+:logs:[^:]*:[^:]*:log-group:/, '').replace(/:\*$/, '') : id;
  void ctx;
  return reqString(body, 'logGroupName');
}

const groupArn = (ctx: LogsContext, name: string) => `arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:${name}`;

function limitOf(body: JsonObject, def: number, max: number): number {
  const l = optNumber(body, 'limit');
  if (l === undefined) return def;
  if (!Number.isInteger(l) || l < 1 || l > max)
    throw invalidParam(`1 validation error detected: Value '${l}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${max}`);
  return l;
}

const pad = (n: number) => String(n).padStart(56, '0');

function parseGetToken(token: string): { dir: 'f' | 'b'; pos: number } {
  const m = /^([fb])\/(\d+)$/.exec(token);
  if (!m) throw invalidParam('The specified nextToken is invalid.');
  return { dir: m[1] as 'f' | 'b', pos: Number(m[2]) };
}

function getLogEvents(body: JsonObject, ctx: LogsContext): JsonObject {
  const s = ctx.store.stream(groupName(body, ctx), reqString(body, 'logStreamName'));
  const limit = limitOf(body, 10000, 10000);
  const startTime = optNumber(body, 'startTime');
  const endTime = optNumber(body, 'endTime');
  const inRange = (t: number) => (startTime === undefined || t >= startTime) && (endTime === undefined || t < endTime);
  const token = optString(body, 'nextToken');
  const startFromHead = optBool(body, 'startFromHead') ?? false;
  const evs = s.events;
  let dir: 'f' | 'b';
  let pos: number;
  if (token) ({ dir, pos } = parseGetToken(token));
  else if (startFromHead) [dir, pos] = ['f', 0];
  else [dir, pos] = ['b', evs.length];
  pos = Math.min(Math.max(pos, 0), evs.length);

  const picked: number[] = [];
  if (dir === 'f') {
    for (let i = pos; i < evs.length && picked.length < limit; i++) if (inRange(evs[i].timestamp)) picked.push(i);
  } else {
    for (let i = pos - 1; i >= 0 && picked.length < limit; i--) if (inRange(evs[i].timestamp)) picked.unshift(i);
  }
  const first = picked.length ? picked[0] : pos;
  const afterLast = picked.length ? picked[picked.length - 1] + 1 : pos;
  return {
    events: picked.map((i) => ({ timestamp: evs[i].timestamp, message: evs[i].message, ingestionTime: evs[i].ingestionTime })),
    // With no new events the caller gets its own token back: the documented "end of stream" signal.
    nextForwardToken: `f/${pad(dir === 'f' ? afterLast : picked.length ? afterLast : pos)}`,
    nextBackwardToken: `b/${pad(dir === 'b' ? first : picked.length ? first : pos)}`,
  };
}

/** Subset of the filter pattern syntax: terms (AND), "quoted phrases", ?term (OR), -term (NOT). */
function compileFilter(pattern: string | undefined): (msg: string) => boolean {
  if (!pattern?.trim()) return () => true;
  const tokens = pattern.match(/[?-]?"[^"]*"|\S+/g) ?? [];
  const all: string[] = [];
  const any: string[] = [];
  const none: string[] = [];
  for (const t of tokens) {
    const kind = t[0] === '?' ? any : t[0] === '-' ? none : all;
    const body = kind === all ? t : t.slice(1);
    kind.push(body.replace(/^"|"$/g, ''));
  }
  return (msg) => all.every((t) => msg.includes(t)) && (any.length === 0 || any.some((t) => msg.includes(t))) && !none.some((t) => msg.includes(t));
}

function filterLogEvents(body: JsonObject, ctx: LogsContext): JsonObject {
  const g = ctx.store.group(groupName(body, ctx));
  const names = Array.isArray(body.logStreamNames) ? (body.logStreamNames as unknown[]).filter((x): x is string => typeof x === 'string') : undefined;
  const prefix = optString(body, 'logStreamNamePrefix');
  if (names && prefix) throw invalidParam('Cannot specify both logStreamNames and logStreamNamePrefix');
  const limit = limitOf(body, 10000, 10000);
  const startTime = optNumber(body, 'startTime');
  const endTime = optNumber(body, 'endTime');
  const filter = compileFilter(optString(body, 'filterPattern'));
  const token = optString(body, 'nextToken');
  const after = token
    ? decodeToken(
        token,
        (v): v is { t: number; s: number } => isObject(v) && typeof v.t === 'number' && typeof v.s === 'number',
        () => invalidParam('The specified nextToken is invalid.'),
      )
    : undefined;
  const streams: LogStream[] = [...g.streams.values()].filter((s) => (names ? names.includes(s.name) : prefix ? s.name.startsWith(prefix) : true));
  const hits: Array<{ s: LogStream; e: LogStream['events'][number] }> = [];
  for (const s of streams) {
    for (const e of s.events) {
      if (startTime !== undefined && e.timestamp < startTime) continue;
      if (endTime !== undefined && e.timestamp > endTime) continue;
      if (after && (e.timestamp < after.t || (e.timestamp === after.t && e.seq <= after.s))) continue;
      if (!filter(e.message)) continue;
      hits.push({ s, e });
    }
  }
  hits.sort((a, b) => a.e.timestamp - b.e.timestamp || a.e.seq - b.e.seq);
  const page = hits.slice(0, limit);
  const out: JsonObject = {
    events: page.map(({ s, e }) => ({
      logStreamName: s.name,
      timestamp: e.timestamp,
      message: e.message,
      ingestionTime: e.ingestionTime,
      eventId: `${pad(e.timestamp)}${String(e.seq).padStart(20, '0')}`,
    })),
    searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: hits.length <= limit })),
  };
  if (hits.length > limit) {
    const last = page[page.length - 1].e;
    out.nextToken = encodeToken({ t: last.timestamp, s: last.seq });
  }
  return out;
}

function describeLogStreams(body: JsonObject, ctx: LogsContext): JsonObject {
  const name = groupName(body, ctx);
  const g = ctx.store.group(name);
  const prefix = optString(body, 'logStreamNamePrefix');
  const orderBy = optString(body, 'orderBy') ?? 'LogStreamName';
  const descending = optBool(body, 'descending') ?? false;
  if (orderBy === 'LastEventTime' && prefix) throw invalidParam('Cannot order by LastEventTime with a logStreamNamePrefix.');
  if (orderBy !== 'LogStreamName' && orderBy !== 'LastEventTime')
    throw invalidParam(
      `1 validation error detected: Value '${orderBy}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]`,
    );
  const limit = limitOf(body, 50, 50);
  let list = [...g.streams.values()].filter((s) => !prefix || s.name.startsWith(prefix));
  list.sort((a, b) =>
    orderBy === 'LogStreamName'
      ? a.name < b.name
        ? -1
        : a.name > b.name
          ? 1
          : 0
      : (a.lastEventTimestamp ?? a.creationTime) - (b.lastEventTimestamp ?? b.creationTime) || (a.name < b.name ? -1 : 1),
  );
  if (descending) list.reverse();
  const token = optString(body, 'nextToken');
  const offset = token
    ? decodeToken(
        token,
        (v): v is { o: number } => isObject(v) && typeof v.o === 'number',
        () => invalidParam('The specified nextToken is invalid.'),
      ).o
    : 0;
  const page = list.slice(offset, offset + limit);
  const out: JsonObject = {
    logStreams: page.map((s) => ({
      logStreamName: s.name,
      creationTime: s.creationTime,
      firstEventTimestamp: s.firstEventTimestamp,
      lastEventTimestamp: s.lastEventTimestamp,
      lastIngestionTime: s.lastIngestionTime,
      uploadSequenceToken: String(s.events.length).padStart(56, '0'),
      arn: `${groupArn(ctx, name)}:log-stream:${s.name}`,
      storedBytes: 0,
    })),
  };
  if (offset + limit < list.length) out.nextToken = encodeToken({ o: offset + limit });
  list = [];
  return out;
}

function describeLogGroups(body: JsonObject, ctx: LogsContext): JsonObject {
  const prefix = optString(body, 'logGroupNamePrefix');
  const pattern = optString(body, 'logGroupNamePattern');
  if (prefix && pattern) throw invalidParam('LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.');
  const limit = limitOf(body, 50, 50);
  const list = [...ctx.store.groups.values()]
    .filter((g) => (!prefix || g.name.startsWith(prefix)) && (!pattern || g.name.toLowerCase().includes(pattern.toLowerCase())))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const token = optString(body, 'nextToken');
  const offset = token
    ? decodeToken(
        token,
        (v): v is { o: number } => isObject(v) && typeof v.o === 'number',
        () => invalidParam('The specified nextToken is invalid.'),
      ).o
    : 0;
  const page = list.slice(offset, offset + limit);
  const out: JsonObject = {
    logGroups: page.map((g) => ({
      logGroupName: g.name,
      creationTime: g.creationTime,
      retentionInDays: g.retentionInDays,
      metricFilterCount: 0,
      arn: `${groupArn(ctx, g.name)}:*`,
      logGroupArn: groupArn(ctx, g.name),
      storedBytes: [...g.streams.values()].reduce((n, s) => n + s.storedBytes, 0),
      logGroupClass: 'STANDARD',
    })),
  };
  if (offset + limit < list.length) out.nextToken = encodeToken({ o: offset + limit });
  return out;
}

function putLogEvents(body: JsonObject, ctx: LogsContext): JsonObject {
  const g = groupName(body, ctx);
  const s = reqString(body, 'logStreamName');
  const raw = Array.isArray(body.logEvents) ? body.logEvents : [];
  if (raw.length === 0 || raw.length > 10000)
    throw invalidParam("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and 10000");
  const events = raw.filter(isObject).map((e) => ({ timestamp: Number(e.timestamp), message: String(e.message ?? '') }));
  for (let i = 1; i < events.length; i++) {
    if (events[i].timestamp < events[i - 1].timestamp) throw invalidParam('Log events in a single PutLogEvents request must be in chronological order.');
  }
  const now = Date.now();
  const tooOld = events.filter((e) => e.timestamp < now - 14 * 86400_000);
  const tooNew = events.filter((e) => e.timestamp > now + 2 * 3600_000);
  const ok = events.filter((e) => !tooOld.includes(e) && !tooNew.includes(e));
  ctx.store.append(g, s, ok, false);
  const out: JsonObject = { nextSequenceToken: String(ctx.store.stream(g, s).events.length).padStart(56, '0') };
  if (tooOld.length || tooNew.length) {
    const info: JsonObject = {};
    if (tooOld.length) info.tooOldLogEventEndIndex = events.indexOf(tooOld[tooOld.length - 1]) + 1;
    if (tooNew.length) info.tooNewLogEventStartIndex = events.indexOf(tooNew[0]);
    out.rejectedLogEventsInfo = info;
  }
  return out;
}

export function handleLogs(action: string, body: JsonObject, ctx: LogsContext): JsonObject {
  switch (action) {
    case 'GetLogEvents':
      return getLogEvents(body, ctx);
    case 'FilterLogEvents':
      return filterLogEvents(body, ctx);
    case 'DescribeLogStreams':
      return describeLogStreams(body, ctx);
    case 'DescribeLogGroups':
      return describeLogGroups(body, ctx);
    case 'CreateLogGroup':
      ctx.store.createGroup(reqString(body, 'logGroupName'), stringMap(body.tags));
      return {};
    case 'CreateLogStream':
      ctx.store.createStream(groupName(body, ctx), reqString(body, 'logStreamName'));
      return {};
    case 'DeleteLogGroup':
      ctx.store.deleteGroup(reqString(body, 'logGroupName'));
      return {};
    case 'DeleteLogStream':
      ctx.store.deleteStream(groupName(body, ctx), reqString(body, 'logStreamName'));
      return {};
    case 'PutRetentionPolicy': {
      const g = ctx.store.group(reqString(body, 'logGroupName'));
      g.retentionInDays = optNumber(body, 'retentionInDays');
      return {};
    }
    case 'PutLogEvents':
      return putLogEvents(body, ctx);
  }
  throw new AwsError('UnknownOperationException', `Operation ${action} is not supported by local AWS CloudWatch Logs`);
}
