/**
 * Persisted callback requests (see CallbackRequestDoc): created right before the state change
 * they follow, deleted once the callback ran (or when that change lost its race), and taken over
 * by another process of the same role once their lease expired. Every ownership change is a
 * guarded single-document update (per-document locks on FerretDB).
 */
import { isDuplicateKey } from '../transitions/duplicate-key.ts';
import { AtomicUpdater } from '../transitions/atomic-updater.ts';
import type { Store } from '../store.ts';
import { callbackRequestId, type CallbackRequestDoc } from '../schema.ts';

export type NewCallbackRequest = Pick<
  CallbackRequestDoc,
  'kind' | 'dag_id' | 'run_id' | 'task_id' | 'try_number' | 'state' | 'callback' | 'reason' | 'clear_number'
>;

export class CallbackRequestRepository {
  private readonly atomic: AtomicUpdater<CallbackRequestDoc>;

  constructor(private readonly store: Store) {
    this.atomic = new AtomicUpdater(store.db, store.callbackRequests);
  }

  /**
   * Persist a request owned by `owner` for `leaseMs`; returns it, or null when the same request
   * exists already (another process is handling that very change).
   */
  async create(req: NewCallbackRequest, owner: string, leaseMs: number, now = new Date()): Promise<CallbackRequestDoc | null> {
    const doc: CallbackRequestDoc = {
      ...req,
      _id: callbackRequestId(req),
      created_at: now,
      owner,
      lease_expires_at: new Date(now.getTime() + leaseMs),
      attempts: 1,
    };
    try {
      await this.store.callbackRequests.insertOne(doc);
      return doc;
    } catch (e) {
      if (isDuplicateKey(e)) return null;
      throw e;
    }
  }

  /** Keep running it: extend the lease while still its owner. */
  renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.atomic.updateOne({ _id: id, owner }, { $set: { lease_expires_at: new Date(Date.now() + leaseMs) } });
  }

  /** The callback ran (or must not run): the request goes. */
  async delete(id: string): Promise<void> {
    await this.store.callbackRequests.deleteOne({ _id: id });
  }

  /**
   * Requests of `kind` whose lease expired (their runner died or stalled), for the DAGs in
   * `dagIds`, taken over by `owner` — each with one guarded update on the owner and lease seen.
   */
  async claimOrphans(kind: CallbackRequestDoc['kind'], dagIds: readonly string[], owner: string, leaseMs: number, limit = 50): Promise<CallbackRequestDoc[]> {
    if (dagIds.length === 0) return [];
    const now = new Date();
    const seen = await this.store.callbackRequests
      .find({ kind, dag_id: { $in: [...dagIds] }, lease_expires_at: { $lt: now } })
      .sort({ created_at: 1 })
      .limit(limit)
      .toArray();
    const won: CallbackRequestDoc[] = [];
    for (const r of seen) {
      const doc = await this.atomic.findOneAndUpdate(
        { _id: r._id, owner: r.owner, lease_expires_at: r.lease_expires_at },
        { $set: { owner, lease_expires_at: new Date(now.getTime() + leaseMs) }, $inc: { attempts: 1 } },
      );
      if (doc) won.push(doc);
    }
    return won;
  }

  /** Every request of a run (the run is being deleted). */
  async deleteForRun(dagId: string, runId: string): Promise<number> {
    return (await this.store.callbackRequests.deleteMany({ dag_id: dagId, run_id: runId })).deletedCount;
  }
}
