/** Reads of DAG metadata (the `dags` collection) for the API, UI and CLI. */
import type { Filter } from 'mongodb';
import type { Store } from '../../store/store.ts';
import type { DagDoc } from '../../store/schema.ts';
import { readPage, type Page, type PageRequest } from './page.ts';

export interface DagCriteria {
  activeOnly?: boolean;
  paused?: boolean;
  /** Any of these tags. */
  tags?: string[];
  /** Substring of the DAG id, case-insensitive (taken literally, not as a pattern). */
  idContains?: string;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function listDags(store: Store, c: DagCriteria, page: PageRequest): Promise<Page<DagDoc>> {
  const filter: Filter<DagDoc> = {};
  if (c.activeOnly) filter.is_active = true;
  if (c.paused !== undefined) filter.is_paused = c.paused;
  if (c.tags?.length) filter.tags = { $in: c.tags };
  if (c.idContains) filter.dag_id = { $regex: escapeRegex(c.idContains), $options: 'i' };
  return readPage(store.dags, filter, page);
}

export function getDag(store: Store, dagId: string): Promise<DagDoc | null> {
  return store.dags.findOne({ _id: dagId });
}
