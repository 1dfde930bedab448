/**
 * Trigger rows: created by a deferring worker (in the shard its id hashes to), held by the
 * triggerer leasing that shard (trigger-shard-leases.ts: ownership is per shard, never written on
 * the row), deleted when fired or when their task no longer waits on them. The triggerer also
 * records here what the watched resource last reported (progress while deferred).
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store.ts';
import type { StateChangeBus } from '../state-change-bus.ts';
import { triggerShardOf, type TriggerDoc, type TaskInstanceDoc } from '../schema.ts';
import { bulkWriteUpdates } from './atomic-updater.ts';

export interface NewTrigger {
  /** A serialized trigger (SerializedTrigger of src/triggers), spelled out: the store depends on no layer above it. */
  trigger: { kind: string; kwargs: Record<string, unknown> };
  deadline: Date | null;
  ti: Pick<TaskInstanceDoc, '_id' | 'dag_id' | 'run_id' | 'task_id'>;
  routingKeys?: string[];
  description?: string | null;
}

/** What a watched resource last reported (the trigger row's last_* fields). */
export interface TriggerStatus {
  status: string;
  secondaryStatus?: string | null;
  message?: string | null;
  at: Date;
}

export class TriggerTransitions {
  constructor(
    private readonly store: Store,
    private readonly bus?: StateChangeBus,
  ) {}

  /** Step 1 of the deferral contract: insert the trigger (its shard's holder picks it up). */
  async create(t: NewTrigger): Promise<TriggerDoc> {
    const id = randomUUID();
    const doc: TriggerDoc = {
      _id: id,
      kind: t.trigger.kind,
      kwargs: JSON.stringify(t.trigger.kwargs ?? {}),
      created_at: new Date(),
      deadline: t.deadline,
      shard: triggerShardOf(id),
      triggerer_id: null,
      claimed_at: null,
      task_instance_id: t.ti._id,
      dag_id: t.ti.dag_id,
      run_id: t.ti.run_id,
      task_id: t.ti.task_id,
      routing_keys: t.routingKeys ?? [],
      description: t.description ?? null,
    };
    await this.store.triggers.insertOne(doc);
    this.bus?.emit({ kind: 'trigger', at: doc.created_at, action: 'created', trigger_id: doc._id, task_instance_id: doc.task_instance_id });
    return doc;
  }

  /** Delete a trigger (fired, or its task was cleared/marked, or the deferral lost its race). */
  async delete(triggerId: string, action: 'fired' | 'deleted' = 'deleted'): Promise<boolean> {
    const r = await this.store.triggers.deleteOne({ _id: triggerId });
    if (r.deletedCount === 1) this.bus?.emit({ kind: 'trigger', at: new Date(), action, trigger_id: triggerId });
    return r.deletedCount === 1;
  }

  /**
   * Delete many triggers in one command (the triggerer batches the rows of resumed tasks). Rows
   * already gone are no error. Returns how many were deleted.
   */
  async deleteMany(triggerIds: string[], action: 'fired' | 'deleted'): Promise<number> {
    if (triggerIds.length === 0) return 0;
    if (triggerIds.length === 1) return (await this.delete(triggerIds[0], action)) ? 1 : 0;
    const r = await this.store.triggers.deleteMany({ _id: { $in: triggerIds } });
    if (this.bus && r.deletedCount > 0) {
      const at = new Date();
      for (const id of triggerIds) this.bus.emit({ kind: 'trigger', at, action, trigger_id: id });
    }
    return r.deletedCount;
  }

  /** Delete every trigger row of a run (the run is being deleted). */
  async deleteForRun(dagId: string, runId: string): Promise<number> {
    const r = await this.store.triggers.deleteMany({ dag_id: dagId, run_id: runId });
    return r.deletedCount;
  }

  /**
   * Record what watched resources reported last (progress while deferred), many triggers in one
   * command. Guarded by the report's time, so a late, older report never overwrites a newer one.
   */
  async recordStatuses(reports: ReadonlyMap<string, TriggerStatus>): Promise<void> {
    if (reports.size === 0) return;
    // bulkWriteUpdates, not bulkWrite: one long update command can hang FerretDB (see there).
    await bulkWriteUpdates(
      this.store.db,
      this.store.triggers,
      [...reports].map(([id, s]) => ({
        updateOne: {
          filter: { _id: id, $or: [{ last_event_at: { $exists: false } }, { last_event_at: null }, { last_event_at: { $lte: s.at } }] },
          update: {
            $set: { last_status: s.status, last_secondary_status: s.secondaryStatus ?? null, last_status_message: s.message ?? null, last_event_at: s.at },
          },
        },
      })),
      { ordered: false },
    );
  }

  // ------------------------------------------------------------------ what a shard holder reads

  /** Every row of these shards, as a cursor (a claim streams them in batches). */
  rowsOfShards(shards: number[], batchSize = 5_000) {
    return this.store.triggers.find({ shard: { $in: shards } }, { batchSize });
  }

  /** Ids of the rows of these shards created at or after `since` (the holder's poll for new triggers). */
  async idsCreatedSince(shards: number[], since: Date): Promise<Array<Pick<TriggerDoc, '_id' | 'created_at'>>> {
    if (shards.length === 0) return [];
    return this.store.triggers.find({ shard: { $in: shards }, created_at: { $gte: since } }, { projection: { _id: 1, created_at: 1 } }).toArray();
  }

  /** Full rows by id (those deleted meanwhile are missing). */
  async byIds(ids: string[]): Promise<TriggerDoc[]> {
    if (ids.length === 0) return [];
    return this.store.triggers.find({ _id: { $in: ids } }).toArray();
  }

  /** How many rows these shards hold, not counting `except` (rows being settled right now). */
  countInShards(shards: number[], except: string[] = []): Promise<number> {
    if (shards.length === 0) return Promise.resolve(0);
    return this.store.triggers.countDocuments(except.length ? { shard: { $in: shards }, _id: { $nin: except } } : { shard: { $in: shards } });
  }

  /** Ids of every row of these shards (the ownership check, only when the count disagrees). */
  async idsInShards(shards: number[]): Promise<Set<string>> {
    if (shards.length === 0) return new Set();
    const rows = await this.store.triggers.find({ shard: { $in: shards } }, { projection: { _id: 1 } }).toArray();
    return new Set(rows.map((d) => d._id));
  }

  /**
   * Rows written before triggers had shards get theirs (and lose the per-row owner they carried):
   * run once by a starting triggerer; a no-op on a database that never had such rows.
   */
  async fillMissingShards(): Promise<number> {
    const rows = await this.store.triggers.find({ shard: { $exists: false } }, { projection: { _id: 1 } }).toArray();
    if (rows.length === 0) return 0;
    await bulkWriteUpdates(
      this.store.db,
      this.store.triggers,
      rows.map((r) => ({ updateOne: { filter: { _id: r._id }, update: { $set: { shard: triggerShardOf(r._id), triggerer_id: null, claimed_at: null } } } })),
      { ordered: false },
    );
    return rows.length;
  }
}
