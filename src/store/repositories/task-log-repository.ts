/**
 * Task log lines in MongoDB, so the CLI and the UI can read any try's log from any machine.
 *
 * Ordering (`seq`, per try): readers sort by seq and tail with `afterSeq`. One try may be written
 * by several processes in turn — the worker until the task defers, the triggerer while it is
 * deferred (a SageMaker job's CloudWatch lines, print_log), the worker again after the resume — and
 * their writes can overlap at the hand-offs: the worker's last batch is flushed just after the
 * deferral is persisted, and a triggerer may still be appending when the task is resumed. So:
 *   - the owning writer (TaskLogSink) numbers its lines densely from the last stored seq + 1
 *     (0, 1, 2 … for a fresh try);
 *   - a writer that joins a try another process writes (`appendJoined`) numbers its lines from
 *     max(last stored + 1, its own last + 1, now_ms × 1000). Its lines therefore sort after every
 *     line the worker numbered before the hand-off — even lines still in the worker's buffer —
 *     and never take a seq the worker already used. A worker that resumes continues after them.
 *     Joining writers of one process (a SageMaker trigger's status lines and its print_log copy)
 *     may append to one try in the same millisecond: each repository also numbers after every seq
 *     it assigned before, so two of its appends never share one.
 * No counter document: FerretDB's $inc is not atomic across concurrent writers, and this needs
 * none. (now_ms × 1000 < 2^53 until the year 2255.)
 */
import type { Collection, OptionalUnlessRequiredId } from 'mongodb';
import type { Store } from '../store.ts';
import type { TaskLogDoc } from '../schema.ts';

/** Name of the triggerer service through which triggers append to task logs. */
export const TASK_LOGS_SERVICE = 'taskLogs';

export interface ReadLogOptions {
  /** Only lines with seq > afterSeq (tailing). */
  afterSeq?: number;
  limit?: number;
}

/** The try a joining writer appends to. */
export interface TaskLogTarget {
  ti_id: string;
  dag_id: string;
  run_id: string;
  task_id: string;
  try_number: number;
}

export interface JoinedLine {
  ts?: Date;
  level?: string;
  msg: string;
}

export interface AppendJoinedOptions {
  /** Highest seq this writer assigned before (default -1): its lines keep increasing. */
  after?: number;
  /**
   * Where in its source the copy stands after these lines (opaque, e.g. CloudWatch forward tokens
   * as JSON), stored on the last line under `cursorKey`: a writer that takes the copy over (an
   * adopted trigger) continues there instead of copying lines again.
   */
  cursor?: { key: string; value: string };
}

/** A stored line that also carries a copy cursor (extra fields; readers ignore them). */
interface CursorLineDoc extends TaskLogDoc {
  cursor_key?: string;
  cursor?: string;
}

export class TaskLogRepository {
  /** Highest seq appendJoined assigned through this repository (any try): concurrent appends never reuse one. */
  private lastJoinedSeq = -1;

  constructor(private readonly store: Store) {}

  async append(lines: ReadonlyArray<TaskLogDoc>): Promise<void> {
    if (lines.length === 0) return;
    // Copies: insertMany adds _id to the objects it is given.
    await this.store.taskLogs.insertMany(lines.map((l) => ({ ...l })) as OptionalUnlessRequiredId<TaskLogDoc>[], { ordered: false });
  }

  /**
   * Append lines to a try some other process owns (see the file comment for the seq scheme).
   * Returns the last seq assigned (pass it as `after` next time), or `after` when no lines.
   */
  async appendJoined(target: TaskLogTarget, lines: ReadonlyArray<JoinedLine>, opts: AppendJoinedOptions = {}): Promise<number> {
    const after = opts.after ?? -1;
    if (lines.length === 0) return after;
    const stored = await this.lastSeq(target.ti_id, target.try_number);
    // Assigned in one synchronous step after the read: another append of this process that read
    // the same stored seq in the same millisecond numbers after these lines.
    let seq = Math.max(after + 1, stored + 1, Date.now() * 1000, this.lastJoinedSeq + 1) - 1;
    this.lastJoinedSeq = seq + lines.length;
    const now = new Date();
    const docs: CursorLineDoc[] = lines.map((l) => ({
      ti_id: target.ti_id,
      dag_id: target.dag_id,
      run_id: target.run_id,
      task_id: target.task_id,
      try_number: target.try_number,
      seq: ++seq,
      ts: l.ts ?? now,
      level: l.level ?? 'info',
      msg: l.msg,
    }));
    if (opts.cursor) Object.assign(docs[docs.length - 1]!, { cursor_key: opts.cursor.key, cursor: opts.cursor.value });
    // Ordered: the cursor-bearing last line lands only if every line before it did.
    await this.store.taskLogs.insertMany(docs as OptionalUnlessRequiredId<TaskLogDoc>[], { ordered: true });
    return seq;
  }

  /** The cursor stored by the last `appendJoined` with this key for the try, or null. */
  async lastCursor(tiId: string, tryNumber: number, key: string): Promise<string | null> {
    const col = this.store.taskLogs as unknown as Collection<CursorLineDoc>;
    const [doc] = await col.find({ ti_id: tiId, try_number: tryNumber, cursor_key: key }).sort({ seq: -1 }).limit(1).toArray();
    return typeof doc?.cursor === 'string' ? doc.cursor : null;
  }

  read(tiId: string, tryNumber: number, opts: ReadLogOptions = {}): Promise<TaskLogDoc[]> {
    const cursor = this.store.taskLogs
      .find({ ti_id: tiId, try_number: tryNumber, ...(opts.afterSeq != null ? { seq: { $gt: opts.afterSeq } } : {}) })
      .sort({ seq: 1 });
    if (opts.limit) cursor.limit(opts.limit);
    return cursor.toArray();
  }

  /** Highest seq written for a try (a resumed try continues after it), -1 when none. */
  async lastSeq(tiId: string, tryNumber: number): Promise<number> {
    const [doc] = await this.store.taskLogs.find({ ti_id: tiId, try_number: tryNumber }).sort({ seq: -1 }).limit(1).toArray();
    return doc ? doc.seq : -1;
  }

  /** Try numbers that have log lines, ascending. */
  async tries(tiId: string): Promise<number[]> {
    const rows = await this.store.taskLogs
      .aggregate<{ _id: number }>([{ $match: { ti_id: tiId } }, { $group: { _id: '$try_number' } }, { $sort: { _id: 1 } }])
      .toArray();
    return rows.map((r) => r._id);
  }

  async clearForTry(tiId: string, tryNumber: number): Promise<number> {
    const r = await this.store.taskLogs.deleteMany({ ti_id: tiId, try_number: tryNumber });
    return r.deletedCount;
  }

  async deleteForRun(dagId: string, runId: string): Promise<number> {
    const r = await this.store.taskLogs.deleteMany({ dag_id: dagId, run_id: runId });
    return r.deletedCount;
  }
}
