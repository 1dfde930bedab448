/**
 * The change feed's logic as RxJS operators, free of the store so marble tests can drive them:
 *
 *   pollSince   — every interval, read the rows written since a cursor (minus an overlap window:
 *                 `updated_at` is stamped by other machines' clocks and commits land late), then
 *                 move the cursor to the newest row read; reads never overlap (exhaustMap) and a
 *                 failed read is reported and skipped, never the end of the feed;
 *   freshOnly   — pass each change once and never an older one: a task instance by its `version`
 *                 (bumped by every transition), a run by (updated_at, state, clear_number) and never
 *                 one older than what was passed; trigger actions always pass;
 *   mergeChanges — the bus and the poll, merged and then deduplicated: both may report one write.
 *
 * ChangeMemory bounds what dedupe remembers: entries older than anything a poll can still return
 * are forgotten after each poll, and at most `maxEntries` are kept (oldest out first).
 */
import {
  type Observable,
  type SchedulerLike,
  EMPTY,
  asyncScheduler,
  defer,
  exhaustMap,
  filter,
  map,
  merge,
  mergeMap,
  from,
  timer,
  catchError,
  tap,
} from 'rxjs';
import type { DagRunState, TaskInstanceState } from '../schema.ts';
import type { FeedChange } from './feed-change.ts';

/** A row a poll can return. */
export interface StampedRow {
  updated_at: Date;
}

export interface PollSinceOptions {
  intervalMs: number;
  /** How far before the cursor each read starts. */
  overlapMs: number;
  /** Poll only while this holds (e.g. while a triggerer holds triggers); the cursor restarts at now when it resumes. */
  pollWhile?: () => boolean;
  /** A failed read (the feed goes on). */
  onError?: (err: unknown) => void;
  scheduler?: SchedulerLike;
}

/**
 * Rows written since subscription, read every `intervalMs` by `read(since)`; emits each read's rows
 * in order (the caller deduplicates what the overlap reads twice).
 */
export function pollSince<T extends StampedRow>(read: (since: Date) => Observable<T[]>, opts: PollSinceOptions): Observable<T> {
  const scheduler = opts.scheduler ?? asyncScheduler;
  return defer(() => {
    let cursor = new Date(scheduler.now());
    return timer(opts.intervalMs, opts.intervalMs, scheduler).pipe(
      exhaustMap(() => {
        if (opts.pollWhile && !opts.pollWhile()) {
          cursor = new Date(scheduler.now());
          return EMPTY;
        }
        return read(new Date(cursor.getTime() - opts.overlapMs)).pipe(
          tap((rows) => {
            for (const r of rows) if (r.updated_at > cursor) cursor = r.updated_at;
          }),
          catchError((err: unknown) => {
            opts.onError?.(err);
            return EMPTY;
          }),
        );
      }),
      mergeMap((rows) => from(rows)),
    );
  });
}

interface SeenTi {
  version: number;
  state: TaskInstanceState;
  at: number;
}
interface SeenRun {
  stamp: string;
  state: DagRunState;
  at: number;
}

/** What dedupe remembers per row; see the file comment for the bounds. */
export class ChangeMemory {
  readonly tis = new Map<string, SeenTi>();
  readonly runs = new Map<string, SeenRun>();

  constructor(private readonly maxEntries = 200_000) {}

  /** Forget rows last changed before `ms` (nothing a later poll returns can be older). */
  forgetBefore(ms: number): void {
    for (const [k, v] of this.tis) if (v.at < ms) this.tis.delete(k);
    for (const [k, v] of this.runs) if (v.at < ms) this.runs.delete(k);
  }

  /** The change with `lastSeen` filled in when it is new, else null. */
  admit(c: FeedChange): FeedChange | null {
    if (c.kind === 'task_instance') {
      const seen = this.tis.get(c.ti._id);
      if (seen && seen.version >= c.ti.version) return null;
      remember(this.tis, c.ti._id, { version: c.ti.version, state: c.ti.state, at: c.ti.updated_at.getTime() }, this.maxEntries);
      return { ...c, lastSeen: seen?.state };
    }
    if (c.kind === 'dag_run') {
      const at = c.run.updated_at.getTime();
      const stamp = `${at}|${c.run.state}|${c.run.clear_number}`;
      const seen = this.runs.get(c.run._id);
      if (seen && (seen.stamp === stamp || seen.at > at)) return null;
      remember(this.runs, c.run._id, { stamp, state: c.run.state, at }, this.maxEntries);
      return { ...c, lastSeen: seen?.state };
    }
    return c;
  }
}

function remember<V>(m: Map<string, V>, key: string, value: V, max: number): void {
  m.delete(key);
  m.set(key, value);
  if (m.size > max) {
    const oldest = m.keys().next();
    if (!oldest.done) m.delete(oldest.value);
  }
}

export function freshOnly(memory: ChangeMemory): (source: Observable<FeedChange>) => Observable<FeedChange> {
  return (source) =>
    source.pipe(
      map((c) => memory.admit(c)),
      filter((c): c is FeedChange => c !== null),
    );
}

/** Bus and poll, merged and deduplicated (see the file comment). */
export function mergeChanges(bus$: Observable<FeedChange>, poll$: Observable<FeedChange>, memory: ChangeMemory): Observable<FeedChange> {
  return merge(bus$, poll$).pipe(freshOnly(memory));
}
