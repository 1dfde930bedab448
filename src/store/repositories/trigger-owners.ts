/**
 * Who holds a trigger, for readers (API, UI, CLI, metrics). Triggerers own triggers by leasing
 * whole shards (`trigger_shards`), never by writing an owner on each row, so a reader resolves the
 * owner of a row through its shard: one read of the few shard rows per request.
 *
 * A row's stored `triggerer_id` is null for every row written since shards exist; a non-null one
 * (a row from an older version, or a test's fixture) is shown as it is.
 */
import type { Filter } from 'mongodb';
import { TRIGGER_SHARD_COUNT, triggerShardOf, type TriggerDoc, type TriggerShardDoc } from '../schema.ts';
import type { Store } from '../store.ts';

export interface ShardHolder {
  holder: string | null;
  acquiredAt: Date | null;
}

export class TriggerOwners {
  private constructor(private readonly byShard: ReadonlyMap<number, ShardHolder>) {}

  static async load(store: Store): Promise<TriggerOwners> {
    const rows = await store.triggerShards.find({}, { projection: { shard: 1, holder: 1, acquired_at: 1 } }).toArray();
    return new TriggerOwners(
      new Map(rows.map((r: Pick<TriggerShardDoc, 'shard' | 'holder' | 'acquired_at'>) => [r.shard, { holder: r.holder, acquiredAt: r.acquired_at }])),
    );
  }

  /** The triggerer holding this row's shard (null: nobody yet). */
  ownerOf(doc: Pick<TriggerDoc, '_id' | 'shard' | 'triggerer_id'>): string | null {
    if (doc.triggerer_id) return doc.triggerer_id;
    return this.byShard.get(doc.shard ?? triggerShardOf(doc._id))?.holder ?? null;
  }

  /** The row with `triggerer_id` / `claimed_at` filled in from its shard's lease. */
  fill<T extends TriggerDoc>(doc: T): T {
    if (doc.triggerer_id) return doc;
    const lease = this.byShard.get(doc.shard ?? triggerShardOf(doc._id));
    if (!lease?.holder) return doc;
    return { ...doc, triggerer_id: lease.holder, claimed_at: lease.acquiredAt };
  }

  /** A filter for the rows held by `triggererId` (or, with null, by nobody). */
  filterHeldBy(triggererId: string | null): Filter<TriggerDoc> {
    const shards: number[] = [];
    for (let s = 0; s < TRIGGER_SHARD_COUNT; s++) if ((this.byShard.get(s)?.holder ?? null) === triggererId) shards.push(s);
    const byShard: Filter<TriggerDoc> = { shard: { $in: shards }, triggerer_id: null };
    return triggererId === null ? byShard : { $or: [byShard, { triggerer_id: triggererId }] };
  }

  /** A filter for the rows some triggerer holds. */
  filterHeld(): Filter<TriggerDoc> {
    const shards: number[] = [];
    for (const [s, lease] of this.byShard) if (lease.holder) shards.push(s);
    return { $or: [{ shard: { $in: shards } }, { triggerer_id: { $ne: null } }] };
  }
}

/** Rows with their owners filled in (one read of the shard rows). */
export async function withOwners<T extends TriggerDoc>(store: Store, docs: T[]): Promise<T[]> {
  if (docs.length === 0) return docs;
  const owners = await TriggerOwners.load(store);
  return docs.map((d) => owners.fill(d));
}

/** How many trigger rows some triggerer holds and how many wait for one (one read of the shard rows, two counts). */
export async function countTriggersByOwnership(store: Store): Promise<{ owned: number; unowned: number }> {
  const owners = await TriggerOwners.load(store);
  const [all, unowned] = await Promise.all([store.triggers.countDocuments({}), store.triggers.countDocuments(owners.filterHeldBy(null))]);
  return { owned: all - unowned, unowned };
}
