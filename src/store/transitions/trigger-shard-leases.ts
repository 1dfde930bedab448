/**
 * Leases of trigger shards: how triggerers own triggers. Every trigger row carries a shard number
 * (schema.ts `triggerShardOf`); a triggerer holds all triggers of the shards it leases, so claiming
 * N triggers costs O(shards) writes here plus one read of the rows — never one write per trigger.
 *
 * Every change is a guarded single-document update naming what the writer saw, like every other
 * transition: a lease is taken only while free or expired, renewed and handed over only by its
 * holder, marked started only under the epoch it was taken with. A write that loses a race matches
 * nothing. On servers whose updates are not atomic (FerretDB v1) each write takes the row's
 * per-document lock (AtomicUpdater), so the guards hold there too.
 *
 * Lifecycle of one shard row (`_id` = String(shard)):
 *
 *   free ──acquire──▶ held(A) ──renew──▶ held(A) ──release──▶ free
 *                       │  ▲                 │
 *          expired ─────┘  └─ acquire by B ◀─┘ (A's lease expired: A is dead or cut off)
 *                       │
 *                       └─request(B)─▶ held(A, wanted_by B) ──handOver──▶ held(B, not started)
 *                                                             ──markStarted(B)──▶ held(B, started)
 *
 * A hand-over never leaves a moment in which nobody runs the shard's triggers: A keeps them until
 * the row says B started them (or B's lease expired), and a resume is a guarded transition, so the
 * short overlap can never resume a task twice.
 */
import type { AnyBulkWriteOperation } from 'mongodb';
import { TRIGGER_SHARD_COUNT, type TriggerShardDoc } from '../schema.ts';
import type { Store } from '../store.ts';
import { AtomicUpdater, bulkWriteUpdates } from './atomic-updater.ts';
import { isDuplicateKey } from './duplicate-key.ts';

const NEVER = new Date(0);

export const shardRowId = (shard: number): string => String(shard);

export class TriggerShardLeases {
  private readonly atomic: AtomicUpdater<TriggerShardDoc>;

  constructor(private readonly store: Store) {
    this.atomic = new AtomicUpdater(store.db, store.triggerShards);
  }

  /** Create the shard rows that do not exist yet (idempotent; one command). */
  async ensureRows(): Promise<void> {
    const ops: AnyBulkWriteOperation<TriggerShardDoc>[] = [];
    for (let shard = 0; shard < TRIGGER_SHARD_COUNT; shard++) {
      ops.push({
        updateOne: {
          filter: { _id: shardRowId(shard) },
          update: {
            $setOnInsert: { shard, holder: null, expires_at: NEVER, acquired_at: null, epoch: 0, wanted_by: null, started: false, triggers: 0 },
          },
          upsert: true,
        },
      });
    }
    try {
      // Never one bulkWrite of 64 statements: on FerretDB two triggerers starting at once would
      // hang the database (bulkWriteUpdates says why).
      await bulkWriteUpdates(this.store.db, this.store.triggerShards, ops, { ordered: false });
    } catch (e) {
      // Two triggerers starting at once race their upserts: the loser's duplicate-key errors mean
      // the rows exist, which is all this wants (ordered: false, so every other row was written).
      if (!isDuplicateKey(e)) throw e;
    }
  }

  /** Every shard row (a few dozen small documents). */
  all(): Promise<TriggerShardDoc[]> {
    return this.store.triggerShards.find({}).toArray();
  }

  /** The shards whose lease names `me` (a stopping triggerer releases them all, whatever it thinks it holds). */
  async heldBy(me: string): Promise<number[]> {
    const rows = await this.store.triggerShards.find({ holder: me }, { projection: { shard: 1 } }).toArray();
    return rows.map((r) => r.shard);
  }

  /** Take a free or expired shard. Null when someone else holds a live lease (or took it first). */
  acquire(shard: number, me: string, leaseMs: number, now = new Date()): Promise<TriggerShardDoc | null> {
    return this.atomic.findOneAndUpdate(
      { _id: shardRowId(shard), $or: [{ holder: null }, { expires_at: { $lt: now } }] },
      {
        $set: { holder: me, expires_at: new Date(now.getTime() + leaseMs), acquired_at: now, wanted_by: null, started: false },
        $inc: { epoch: 1 },
      },
    );
  }

  /**
   * Renew the leases `me` holds: ONE update whatever the number of shards; with `counts`, also
   * record how many triggers each holds (one bulk command, or on FerretDB a command per changed
   * count; the caller sends counts only when they changed, and only for shards it renews). Rows another triggerer took meanwhile match nothing; the caller learns it from its
   * next read of the rows. Without per-document locks even on FerretDB, on purpose: a renewal must
   * never wait behind locks for longer than the lease lasts. There, a renewal racing a takeover may
   * win over it (the server writes back the whole row it read); the taker then reads a row naming
   * the holder and lets go — the live holder keeps its shard, and both running its triggers for a
   * moment is safe (resumes are guarded).
   */
  async renew(me: string, shards: number[], leaseMs: number, counts?: ReadonlyMap<number, number>, now = new Date()): Promise<void> {
    if (shards.length === 0) return;
    const expires = new Date(now.getTime() + leaseMs);
    if (!counts || counts.size === 0) {
      await this.store.triggerShards.updateMany({ _id: { $in: shards.map(shardRowId) }, holder: me }, { $set: { expires_at: expires } });
      return;
    }
    // One statement for the shards whose count is unchanged, one per changed count: on FerretDB
    // bulkWriteUpdates sends each as a command of its own (a long command can hang it there).
    const unchanged = shards.filter((shard) => !counts.has(shard));
    const ops: AnyBulkWriteOperation<TriggerShardDoc>[] = [...counts].map(([shard, n]) => ({
      updateOne: { filter: { _id: shardRowId(shard), holder: me }, update: { $set: { expires_at: expires, triggers: n } } },
    }));
    if (unchanged.length > 0)
      ops.unshift({ updateMany: { filter: { _id: { $in: unchanged.map(shardRowId) }, holder: me }, update: { $set: { expires_at: expires } } } });
    await bulkWriteUpdates(this.store.db, this.store.triggerShards, ops, { ordered: false });
  }

  /** Ask the live holder of a shard to hand it over to `me` (at most one request per shard at a time). */
  request(shard: number, holder: string, me: string): Promise<boolean> {
    return this.atomic.updateOne({ _id: shardRowId(shard), holder, wanted_by: null }, { $set: { wanted_by: me } });
  }

  /** Withdraw requests nobody honoured (the requester has enough, or gave up). */
  async withdrawRequests(me: string, shards: number[]): Promise<void> {
    for (const shard of shards) await this.atomic.updateOne({ _id: shardRowId(shard), wanted_by: me }, { $set: { wanted_by: null } });
  }

  /** The holder clears a request whose requester is no longer alive (else it would block every later request). */
  dropRequest(shard: number, me: string, requester: string): Promise<boolean> {
    return this.atomic.updateOne({ _id: shardRowId(shard), holder: me, wanted_by: requester }, { $set: { wanted_by: null } });
  }

  /** The holder hands the shard to the triggerer that asked for it; the new lease starts now. */
  async handOver(shard: number, me: string, to: string, leaseMs: number, now = new Date()): Promise<boolean> {
    return this.atomic.updateOne(
      { _id: shardRowId(shard), holder: me, wanted_by: to },
      {
        $set: { holder: to, expires_at: new Date(now.getTime() + leaseMs), acquired_at: now, wanted_by: null, started: false },
        $inc: { epoch: 1 },
      },
    );
  }

  /** The holder runs the shard's triggers now: a previous holder still running them may let go. */
  markStarted(shard: number, me: string, epoch: number): Promise<boolean> {
    return this.atomic.updateOne({ _id: shardRowId(shard), holder: me, epoch }, { $set: { started: true } });
  }

  /** Give shards up (clean stop, or over capacity): free at once for any triggerer. */
  async release(me: string, shards: number[]): Promise<number> {
    let released = 0;
    for (const shard of shards) {
      const ok = await this.atomic.updateOne(
        { _id: shardRowId(shard), holder: me },
        { $set: { holder: null, expires_at: NEVER, acquired_at: null, wanted_by: null, started: false }, $inc: { epoch: 1 } },
      );
      if (ok) released++;
    }
    return released;
  }
}
