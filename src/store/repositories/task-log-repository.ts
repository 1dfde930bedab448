/**
 * Task log lines in MongoDB, so the CLI and the UI can read any try's log from any machine. The
 * writer (TaskLogSink) batches lines and assigns a per-try sequence; readers tail by `afterSeq`.
 */
import type { OptionalUnlessRequiredId } from 'mongodb';
import type { Store } from '../store.ts';
import type { TaskLogDoc } from '../schema.ts';

export interface ReadLogOptions {
  /** Only lines with seq > afterSeq (tailing). */
  afterSeq?: number;
  limit?: number;
}

export class TaskLogRepository {
  constructor(private readonly store: Store) {}

  async append(lines: ReadonlyArray<TaskLogDoc>): Promise<void> {
    if (lines.length === 0) return;
    // Copies: insertMany adds _id to the objects it is given.
    await this.store.taskLogs.insertMany(lines.map((l) => ({ ...l })) as OptionalUnlessRequiredId<TaskLogDoc>[], { ordered: false });
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
    const rows = await this.store.taskLogs.aggregate<{ _id: number }>([{ $match: { ti_id: tiId } }, { $group: { _id: '$try_number' } }, { $sort: { _id: 1 } }]).toArray();
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
