/**
 * Trigger rows: created by a deferring worker (unowned), claimed by a triggerer, deleted when
 * fired or when their task no longer waits on them. Ownership changes are guarded updates like
 * every other transition; the triggerer module adds claim/adopt/release here.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store.ts';
import type { StateChangeBus } from '../state-change-bus.ts';
import type { TriggerDoc, TaskInstanceDoc } from '../schema.ts';

/** Ownership value a triggerer saw on a trigger when it decided to claim it (null = unowned). */
export type SeenOwner = string | null;

export interface NewTrigger {
  /** A serialized trigger (SerializedTrigger of src/triggers), spelled out: the store depends on no layer above it. */
  trigger: { kind: string; kwargs: Record<string, unknown> };
  deadline: Date | null;
  ti: Pick<TaskInstanceDoc, '_id' | 'dag_id' | 'run_id' | 'task_id'>;
  routingKeys?: string[];
  description?: string | null;
}

export class TriggerTransitions {
  constructor(
    private readonly store: Store,
    private readonly bus?: StateChangeBus,
  ) {}

  /** Step 1 of the deferral contract: insert the trigger, unowned. */
  async create(t: NewTrigger): Promise<TriggerDoc> {
    const doc: TriggerDoc = {
      _id: randomUUID(),
      kind: t.trigger.kind,
      kwargs: JSON.stringify(t.trigger.kwargs ?? {}),
      created_at: new Date(),
      deadline: t.deadline,
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

  /** Delete every trigger row of a run (the run is being deleted). */
  async deleteForRun(dagId: string, runId: string): Promise<number> {
    const r = await this.store.triggers.deleteMany({ dag_id: dagId, run_id: runId });
    return r.deletedCount;
  }

  // ------------------------------------------------------------------ triggerer ownership

  /**
   * Claim (owner null) or adopt (owner = a dead triggerer) a batch of triggers, guarded by the
   * owner the claimer saw: `{_id ∈ ids, triggerer_id: seenOwner}` → me. A trigger that another
   * triggerer claimed meanwhile matches nothing, so a trigger never gets two owners by this path.
   * Returns the ids now owned by `me` (read back only when some of the batch was lost).
   */
  async claim(ids: string[], seenOwner: SeenOwner, me: string, now = new Date()): Promise<string[]> {
    if (ids.length === 0) return [];
    await this.store.triggers.updateMany({ _id: { $in: ids }, triggerer_id: seenOwner }, { $set: { triggerer_id: me, claimed_at: now } });
    // Read back instead of trusting modifiedCount: FerretDB v1 (SQLite) applies an update's filter
    // and its write non-atomically, so two claimers can both be told they modified the row; the
    // row's final owner is the truth, and the loser drops it on its next ownership check.
    const rows = await this.store.triggers.find({ _id: { $in: ids }, triggerer_id: me }, { projection: { _id: 1 } }).toArray();
    const won = rows.map((d) => d._id);
    if (this.bus) for (const id of won) this.bus.emit({ kind: 'trigger', at: now, action: 'claimed', trigger_id: id });
    return won;
  }

  /** Hand back every trigger `me` holds (graceful shutdown). Never touches the remote jobs. */
  async releaseAll(me: string): Promise<number> {
    const r = await this.store.triggers.updateMany({ triggerer_id: me }, { $set: { triggerer_id: null, claimed_at: null } });
    if (r.modifiedCount > 0) this.bus?.emit({ kind: 'trigger', at: new Date(), action: 'released', trigger_id: '*' });
    return r.modifiedCount;
  }

  /** Delete a trigger only while `me` still owns it (orphan clean-up by its owner). */
  async deleteOwned(triggerId: string, me: string): Promise<boolean> {
    const r = await this.store.triggers.deleteOne({ _id: triggerId, triggerer_id: me });
    if (r.deletedCount === 1) this.bus?.emit({ kind: 'trigger', at: new Date(), action: 'deleted', trigger_id: triggerId });
    return r.deletedCount === 1;
  }

  /** How many triggers `me` owns, not counting `except` (rows being deleted right now). */
  countOwned(me: string, except: string[] = []): Promise<number> {
    return this.store.triggers.countDocuments(except.length ? { triggerer_id: me, _id: { $nin: except } } : { triggerer_id: me });
  }

  async idsOwned(me: string): Promise<Set<string>> {
    const rows = await this.store.triggers.find({ triggerer_id: me }, { projection: { _id: 1 } }).toArray();
    return new Set(rows.map((d) => d._id));
  }
}
