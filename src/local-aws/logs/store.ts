/**
 * CloudWatch Logs storage: groups -> streams -> time-ordered events. Each event
 * carries a per-group sequence number so FilterLogEvents can page with a
 * stable cursor even while jobs keep appending.
 */
import { AwsError } from '../errors.ts';

export interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
  seq: number;
}

export interface LogStream {
  name: string;
  creationTime: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  events: LogEvent[];
  storedBytes: number;
}

export interface LogGroup {
  name: string;
  creationTime: number;
  retentionInDays?: number;
  seq: number;
  streams: Map<string, LogStream>;
  tags: Record<string, string>;
}

interface Snapshot {
  groups: Array<Omit<LogGroup, 'streams'> & { streams: LogStream[] }>;
}

export const groupNotFound = () => new AwsError('ResourceNotFoundException', 'The specified log group does not exist.');
export const streamNotFound = () => new AwsError('ResourceNotFoundException', 'The specified log stream does not exist.');

export class LogsStore {
  readonly groups = new Map<string, LogGroup>();

  constructor(private readonly onChange: () => void) {}

  createGroup(name: string, tags: Record<string, string> = {}): LogGroup {
    if (this.groups.has(name)) throw new AwsError('ResourceAlreadyExistsException', 'The specified log group already exists');
    const g: LogGroup = { name, creationTime: Date.now(), seq: 0, streams: new Map(), tags };
    this.groups.set(name, g);
    this.onChange();
    return g;
  }

  group(name: string): LogGroup {
    const g = this.groups.get(name);
    if (!g) throw groupNotFound();
    return g;
  }

  createStream(groupName: string, name: string): LogStream {
    const g = this.group(groupName);
    if (g.streams.has(name)) throw new AwsError('ResourceAlreadyExistsException', 'The specified log stream already exists');
    const s: LogStream = { name, creationTime: Date.now(), events: [], storedBytes: 0 };
    g.streams.set(name, s);
    this.onChange();
    return s;
  }

  stream(groupName: string, name: string): LogStream {
    const s = this.group(groupName).streams.get(name);
    if (!s) throw streamNotFound();
    return s;
  }

  /** Appends events, creating group/stream on demand (what SageMaker's agent does for job logs). */
  append(groupName: string, streamName: string, events: Array<{ timestamp: number; message: string }>, create = true): void {
    let g = this.groups.get(groupName);
    if (!g) {
      if (!create) throw groupNotFound();
      g = this.createGroup(groupName);
    }
    let s = g.streams.get(streamName);
    if (!s) {
      if (!create) throw streamNotFound();
      s = this.createStream(groupName, streamName);
    }
    const now = Date.now();
    for (const e of events) {
      const ev: LogEvent = { timestamp: e.timestamp, message: e.message, ingestionTime: now, seq: ++g.seq };
      // Keep the stream time-ordered; appends are almost always at the end.
      let i = s.events.length;
      while (i > 0 && s.events[i - 1].timestamp > ev.timestamp) i--;
      if (i === s.events.length) s.events.push(ev);
      else s.events.splice(i, 0, ev);
      s.storedBytes += Buffer.byteLength(e.message) + 26;
      s.firstEventTimestamp = s.firstEventTimestamp === undefined ? e.timestamp : Math.min(s.firstEventTimestamp, e.timestamp);
      s.lastEventTimestamp = s.lastEventTimestamp === undefined ? e.timestamp : Math.max(s.lastEventTimestamp, e.timestamp);
    }
    s.lastIngestionTime = now;
    this.onChange();
  }

  deleteGroup(name: string): void {
    if (!this.groups.delete(name)) throw groupNotFound();
    this.onChange();
  }

  deleteStream(groupName: string, name: string): void {
    if (!this.group(groupName).streams.delete(name)) throw streamNotFound();
    this.onChange();
  }

  snapshot(): Snapshot {
    return { groups: [...this.groups.values()].map((g) => ({ ...g, streams: [...g.streams.values()] })) };
  }

  restore(data: unknown): void {
    const snap = data as Snapshot;
    if (!snap || !Array.isArray(snap.groups)) return;
    for (const g of snap.groups) {
      this.groups.set(g.name, { ...g, streams: new Map(g.streams.map((s) => [s.name, s])) });
    }
  }
}
