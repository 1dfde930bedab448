/** Reads of trigger rows (what deferred tasks wait on) for the API, UI and CLI. */
import type { Filter } from 'mongodb';
import type { Store } from '../../store/store.ts';
import type { TriggerDoc } from '../../store/schema.ts';
import { TriggerOwners, withOwners } from '../../store/repositories/trigger-owners.ts';
import { readPage, type Page, type PageRequest } from './page.ts';

export interface TriggerCriteria {
  kind?: string;
  dagId?: string;
  triggererId?: string;
  /** true: only unclaimed; false: only claimed. */
  unclaimed?: boolean;
}

/** Triggers with their owners (the triggerer leasing each row's shard, see store/repositories/trigger-owners.ts). */
export async function listTriggers(store: Store, c: TriggerCriteria, page: PageRequest): Promise<Page<TriggerDoc>> {
  const owners = await TriggerOwners.load(store);
  const parts: Filter<TriggerDoc>[] = [];
  if (c.kind) parts.push({ kind: c.kind });
  if (c.dagId) parts.push({ dag_id: c.dagId });
  if (c.triggererId) parts.push(owners.filterHeldBy(c.triggererId));
  if (c.unclaimed !== undefined) parts.push(c.unclaimed ? owners.filterHeldBy(null) : owners.filterHeld());
  const filter: Filter<TriggerDoc> = parts.length === 0 ? {} : parts.length === 1 ? parts[0] : { $and: parts };
  const result = await readPage(store.triggers, filter, page);
  return { ...result, items: result.items.map((d) => owners.fill(d)) };
}

/** Oldest first, at most `limit` (the CLI's list). */
export async function oldestTriggers(store: Store, c: Pick<TriggerCriteria, 'dagId'>, limit: number): Promise<TriggerDoc[]> {
  const docs = await store.triggers
    .find(c.dagId ? { dag_id: c.dagId } : {})
    .sort({ created_at: 1 })
    .limit(limit)
    .toArray();
  return withOwners(store, docs);
}

export async function getTrigger(store: Store, triggerId: string): Promise<TriggerDoc | null> {
  const doc = await store.triggers.findOne({ _id: triggerId });
  return doc ? (await withOwners(store, [doc]))[0] : null;
}
