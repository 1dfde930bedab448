/**
 * The `dag_versions` collection: one row per parsed version of a DAG, written by DAG processors
 * (insert-once: a version's content never changes), read by schedulers and workers through the
 * DAG catalog.
 */
import type { Store } from '../store.ts';
import { dagVersionId, type DagVersionDoc } from '../schema.ts';
import { isDuplicateKey } from '../transitions/duplicate-key.ts';
import { bulkWriteUpdates } from '../transitions/atomic-updater.ts';

export interface NewDagVersion {
  dagId: string;
  version: string;
  fileloc: string;
  sourceHash: string | null;
  /** SerializedDagData as JSON. */
  serialized: string;
}

export class DagVersionRepository {
  constructor(private readonly store: Store) {}

  /** Record versions not stored yet (existing ones are left as they are). */
  async record(versions: ReadonlyArray<NewDagVersion>, now = new Date()): Promise<void> {
    if (versions.length === 0) return;
    // bulkWriteUpdates, not bulkWrite: one long update command can hang FerretDB (see there).
    const write = () =>
      bulkWriteUpdates(
        this.store.db,
        this.store.dagVersions,
        versions.map((v) => {
          const doc: DagVersionDoc = {
            _id: dagVersionId(v.dagId, v.version),
            dag_id: v.dagId,
            version: v.version,
            fileloc: v.fileloc,
            source_hash: v.sourceHash,
            serialized: v.serialized,
            created_at: now,
          };
          return { updateOne: { filter: { _id: doc._id }, update: { $setOnInsert: doc }, upsert: true } };
        }),
        { ordered: false },
      );
    // Two processors recording the same version at once: the loser of the insert race gets
    // E11000; the row exists by then, so the retry is a no-op update.
    await write().catch((e: unknown) => {
      if (!isDuplicateKey(e)) throw e;
      return write();
    });
  }

  async getMany(ids: ReadonlyArray<{ dagId: string; version: string }>): Promise<DagVersionDoc[]> {
    if (ids.length === 0) return [];
    return this.store.dagVersions.find({ _id: { $in: ids.map((i) => dagVersionId(i.dagId, i.version)) } }).toArray();
  }

  /** A DAG's versions, newest first. */
  list(dagId: string, limit = 100): Promise<DagVersionDoc[]> {
    return this.store.dagVersions
      .find({ dag_id: dagId }, { projection: { serialized: 0 } })
      .sort({ created_at: -1 })
      .limit(limit)
      .toArray();
  }
}
