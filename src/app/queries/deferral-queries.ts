/**
 * Reads behind the operator's deferral view (/api/v1/deferrals): deferred task instances with their
 * triggers and owning triggerers, and the cluster-wide totals (slot-seconds saved, unclaimed
 * triggers, live triggerers).
 */
import type { Store } from '../../store/store.ts';
import type { JobDoc, TaskInstanceDoc, TriggerDoc } from '../../store/schema.ts';
import { TriggerOwners, withOwners } from '../../store/repositories/trigger-owners.ts';
import { readPage, type Page, type PageRequest } from './page.ts';

export function listDeferred(store: Store, c: { dagId?: string }, page: PageRequest): Promise<Page<TaskInstanceDoc>> {
  return readPage(store.taskInstances, { state: 'deferred' as const, ...(c.dagId ? { dag_id: c.dagId } : {}) }, page);
}

/** Triggers by id, and the jobs (triggerers) holding them. */
export async function triggersAndOwners<T extends TriggerDoc = TriggerDoc>(store: Store, triggerIds: string[]): Promise<{ triggers: T[]; owners: JobDoc[] }> {
  const triggers = await withOwners(store, (triggerIds.length ? await store.triggers.find({ _id: { $in: triggerIds } }).toArray() : []) as T[]);
  const jobIds = [...new Set(triggers.map((t) => t.triggerer_id).filter((x): x is string => Boolean(x)))];
  const owners = jobIds.length ? await store.jobs.find({ _id: { $in: jobIds } }).toArray() : [];
  return { triggers, owners };
}

export interface DeferralCounts {
  /** deferred_ms summed over every task instance (finished deferrals). */
  finishedDeferredMs: number;
  /** deferred_at of every task deferred right now. */
  ongoingSince: Array<Date | null>;
  unclaimedTriggers: number;
  liveTriggerers: number;
}

export async function deferralCounts(store: Store, aliveWithinMs: number, now = Date.now()): Promise<DeferralCounts> {
  const owners = await TriggerOwners.load(store);
  const [savedRows, ongoing, unclaimed, live] = await Promise.all([
    store.taskInstances.aggregate<{ _id: null; ms: number }>([{ $group: { _id: null, ms: { $sum: '$deferred_ms' } } }]).toArray(),
    // Running deferrals count too: their slot is free right now. Only deferred_at is needed.
    store.taskInstances.find({ state: 'deferred' }, { projection: { deferred_at: 1 } }).toArray() as Promise<Array<Pick<TaskInstanceDoc, 'deferred_at'>>>,
    store.triggers.countDocuments(owners.filterHeldBy(null)),
    store.jobs.countDocuments({ job_type: 'TriggererJob', state: 'running', latest_heartbeat: { $gte: new Date(now - aliveWithinMs) } }),
  ]);
  return { finishedDeferredMs: savedRows[0]?.ms ?? 0, ongoingSince: ongoing.map((t) => t.deferred_at), unclaimedTriggers: unclaimed, liveTriggerers: live };
}
