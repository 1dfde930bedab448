/**
 * Paging and ranges shared by the read queries: what a caller asks for (a page of some size, an
 * order, a date range) without knowing how the store filters. Sort keys are document fields.
 */
import type { Collection, Document, Filter } from 'mongodb';

/** Document field → 1 (ascending) / -1 (descending), in priority order. */
export type SortOrder = Record<string, 1 | -1>;

export interface PageRequest {
  limit: number;
  offset: number;
  sort: SortOrder;
}

export interface Page<T> {
  items: T[];
  /** Matching documents in all pages. */
  total: number;
}

/** Inclusive date range; an absent bound is open. */
export interface DateRange {
  gte?: Date;
  lte?: Date;
}

/** The store condition for a range, or undefined when both bounds are open. */
export function rangeCondition(r: DateRange | undefined): { $gte?: Date; $lte?: Date } | undefined {
  if (!r || (!r.gte && !r.lte)) return undefined;
  return { ...(r.gte ? { $gte: r.gte } : {}), ...(r.lte ? { $lte: r.lte } : {}) };
}

/** One page and the total, read at once. */
export async function readPage<T extends Document>(collection: Collection<T>, filter: Filter<T>, page: PageRequest): Promise<Page<T>> {
  const [items, total] = await Promise.all([
    collection.find(filter).sort(page.sort).skip(page.offset).limit(page.limit).toArray() as Promise<T[]>,
    collection.countDocuments(filter),
  ]);
  return { items, total };
}
