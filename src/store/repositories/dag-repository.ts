/**
 * The `dags` and `import_errors` collections: DAG metadata written by the DAG processor (and by
 * DagBag.syncToStore for DAGs built in code) and read by the scheduler, API and UI. `is_paused`
 * belongs to users: syncing never overwrites it.
 */
import { isDuplicateKey } from '../transitions/duplicate-key.ts';
import { bulkWriteUpdates } from '../transitions/atomic-updater.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { Store } from '../store.ts';
import type { DagDoc, ImportErrorDoc } from '../schema.ts';

/** What discovery knows about a DAG; the rest of DagDoc is owned by users / the scheduler. */
export type DagParsedFields = Omit<
  DagDoc,
  'is_paused' | 'last_automated_data_interval_start' | 'last_automated_data_interval_end' | 'next_dagrun' | 'next_dagrun_create_after'
>;

export interface ImportErrorInput {
  file: string;
  stack: string;
  message?: string;
  line?: number;
}

export class DagRepository {
  constructor(private readonly store: Store) {}

  list(opts: { activeOnly?: boolean; paused?: boolean } = {}): Promise<DagDoc[]> {
    const filter: Record<string, unknown> = {};
    if (opts.activeOnly) filter.is_active = true;
    if (opts.paused !== undefined) filter.is_paused = opts.paused;
    return this.store.dags.find(filter).sort({ _id: 1 }).toArray();
  }

  get(dagId: string): Promise<DagDoc | null> {
    return this.store.dags.findOne({ _id: dagId });
  }

  async require(dagId: string): Promise<DagDoc> {
    const d = await this.get(dagId);
    if (!d) throw new NotFoundError('DAG_NOT_FOUND', `DAG '${dagId}' not found`, 'Check the DAG id with `deferflow dags list`.');
    return d;
  }

  /** Pause / unpause; returns the updated doc. */
  async pause(dagId: string, paused = true): Promise<DagDoc> {
    const doc = await this.setPaused(dagId, paused);
    if (!doc) throw new NotFoundError('DAG_NOT_FOUND', `DAG '${dagId}' not found`);
    return doc;
  }

  /** Pause / unpause; null when no such DAG is stored. */
  setPaused(dagId: string, paused: boolean): Promise<DagDoc | null> {
    return this.store.dags.findOneAndUpdate({ _id: dagId }, { $set: { is_paused: paused } }, { returnDocument: 'after' });
  }

  /**
   * Upsert parsed DAGs in one bulkWrite. New DAGs get `is_paused = pausedUponCreation[dag_id]`
   * and an empty timetable cursor; existing ones keep both.
   */
  async upsertParsed(dags: ReadonlyArray<DagParsedFields & { is_paused_upon_creation: boolean }>): Promise<void> {
    if (dags.length === 0) return;
    // Two processes parsing the same folder at once (a scheduler and `dags trigger`) both upsert:
    // the loser of the insert race gets E11000 (MongoDB too, FerretDB always). The row exists by
    // then, so running the same upserts again takes the update path.
    try {
      await this.writeParsed(dags);
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
      await this.writeParsed(dags);
    }
  }

  private async writeParsed(dags: ReadonlyArray<DagParsedFields & { is_paused_upon_creation: boolean }>): Promise<void> {
    // bulkWriteUpdates, not bulkWrite: one long update command can hang FerretDB (see there).
    await bulkWriteUpdates(
      this.store.db,
      this.store.dags,
      dags.map(({ is_paused_upon_creation, ...fields }) => ({
        updateOne: {
          filter: { _id: fields._id },
          update: {
            $set: fields,
            $setOnInsert: {
              is_paused: is_paused_upon_creation,
              last_automated_data_interval_start: null,
              last_automated_data_interval_end: null,
              next_dagrun: null,
              next_dagrun_create_after: null,
            },
          },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  }

  /** Mark every active DAG not in `keepIds` inactive (its file or the DAG in it disappeared). */
  async deactivateMissing(keepIds: ReadonlyArray<string>): Promise<number> {
    const r = await this.store.dags.updateMany({ _id: { $nin: [...keepIds] }, is_active: true }, { $set: { is_active: false } });
    return r.modifiedCount;
  }

  /**
   * Advance the timetable cursor from what the caller read to the interval of the run it created.
   * Guarded on the old cursor so a slower scheduler can never move it backwards.
   */
  async advanceCursor(
    dagId: string,
    expectedEnd: Date | null,
    next: { start: Date; end: Date },
    nextRun: { logicalDate: Date | null; createAfter: Date | null },
  ): Promise<boolean> {
    const r = await this.store.dags.updateOne(
      { _id: dagId, last_automated_data_interval_end: expectedEnd },
      {
        $set: {
          last_automated_data_interval_start: next.start,
          last_automated_data_interval_end: next.end,
          next_dagrun: nextRun.logicalDate,
          next_dagrun_create_after: nextRun.createAfter,
        },
      },
    );
    return r.matchedCount === 1;
  }

  /** Informational: when the next run is due (UI / `dags next-execution`). */
  async setNextRun(dagId: string, logicalDate: Date | null, createAfter: Date | null): Promise<void> {
    await this.store.dags.updateOne({ _id: dagId }, { $set: { next_dagrun: logicalDate, next_dagrun_create_after: createAfter } });
  }

  /** Mark these DAGs inactive. */
  async deactivate(ids: ReadonlyArray<string>): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.store.dags.updateMany({ _id: { $in: [...ids] }, is_active: true }, { $set: { is_active: false } });
    return r.modifiedCount;
  }

  /** Active DAGs of `file` that it no longer defines go inactive; returns their ids. */
  async deactivateFileDags(file: string, keepIds: ReadonlyArray<string>): Promise<string[]> {
    const gone = await this.store.dags.find({ fileloc: file, is_active: true, _id: { $nin: [...keepIds] } }, { projection: { _id: 1 } }).toArray();
    await this.deactivate(gone.map((d) => d._id));
    return gone.map((d) => d._id);
  }

  /** Where every active DAG comes from (a processor's full scan deactivates those of vanished files). */
  listActiveFilelocs(): Promise<Array<Pick<DagDoc, '_id' | 'fileloc' | 'processor_subdir'>>> {
    return this.store.dags.find({ is_active: true }, { projection: { _id: 1, fileloc: 1, processor_subdir: 1 } }).toArray();
  }

  /** Replace the import errors with the current set (one doc per broken file). */
  async replaceImportErrors(errors: ReadonlyArray<ImportErrorInput>, now = new Date()): Promise<void> {
    const files = errors.map((e) => e.file);
    await this.store.importErrors.deleteMany({ _id: { $nin: files } });
    await this.upsertImportErrors(errors, now);
  }

  /**
   * Record import errors of these files. A file failing with the same error again keeps the
   * timestamp of when it first failed so (re-parsing every interval does not make it look new).
   */
  async upsertImportErrors(errors: ReadonlyArray<ImportErrorInput>, now = new Date()): Promise<void> {
    if (errors.length === 0) return;
    const existing = new Map((await this.store.importErrors.find({ _id: { $in: errors.map((e) => e.file) } }).toArray()).map((d) => [d._id, d] as const));
    const changed = errors.filter((e) => {
      const d = existing.get(e.file);
      return !d || d.stacktrace !== e.stack || d.message !== e.message;
    });
    if (changed.length === 0) return;
    // bulkWriteUpdates, not bulkWrite: one long update command can hang FerretDB (see there).
    const write = () =>
      bulkWriteUpdates(
        this.store.db,
        this.store.importErrors,
        changed.map((e) => {
          const doc: ImportErrorDoc = { _id: e.file, filename: e.file, stacktrace: e.stack, timestamp: now, message: e.message, line: e.line ?? null };
          return { replaceOne: { filter: { _id: e.file }, replacement: doc, upsert: true } };
        }),
        { ordered: false },
      );
    // Same upsert race as upsertParsed: a concurrent parser inserted first; the retry replaces.
    await write().catch((e: unknown) => {
      if (!isDuplicateKey(e)) throw e;
      return write();
    });
  }

  /** These files import fine now (or are gone). */
  async deleteImportErrors(files: ReadonlyArray<string>): Promise<void> {
    if (files.length === 0) return;
    await this.store.importErrors.deleteMany({ _id: { $in: [...files] } });
  }

  listImportErrors(): Promise<ImportErrorDoc[]> {
    return this.store.importErrors.find({}).sort({ _id: 1 }).toArray();
  }
}
