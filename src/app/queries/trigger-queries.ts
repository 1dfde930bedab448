/** Reads of trigger rows (what deferred tasks wait on) for the API, UI and CLI. */
import type { Filter } from 'mongodb';
import type { Store } from '../../store/store.ts';
import type { TriggerDoc } from '../../store/schema.ts';
import { readPage, type Page, type PageRequest } from './page.ts';

export interface TriggerCriteria {
  kind?: string;
  dagId?: string;
  triggererId?: string;
  /** true: only unclaimed; false: only claimed. */
  unclaimed?: boolean;
}

export function listTriggers(store: Store, c: TriggerCriteria, page: PageRequest): Promise<Page<TriggerDoc>> {
  const filter: Filter<TriggerDoc> = {};
  if (c.kind) filter.kind = c.kind;
  if (c.dagId) filter.dag_id = c.dagId;
  if (c.triggererId) filter.triggerer_id = c.triggererId;
  if (c.unclaimed !== undefined) filter.triggerer_id = c.unclaimed ? null : { $ne: null };
  return readPage(store.triggers, filter, page);
}

/** Oldest first, at most `limit` (the CLI's list). */
export function oldestTriggers(store: Store, c: Pick<TriggerCriteria, 'dagId'>, limit: number): Promise<TriggerDoc[]> {
  return store.triggers
    .find(c.dagId ? { dag_id: c.dagId } : {})
    .sort({ created_at: 1 })
    .limit(limit)
    .toArray();
}

export function getTrigger(store: Store, triggerId: string): Promise<TriggerDoc | null> {
  return store.triggers.findOne({ _id: triggerId });
}
