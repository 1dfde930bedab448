/**
 * Every row with updated_at >= since, paged by (updated_at, _id) so a burst larger than one page is
 * read to its end instead of re-reading the same first page on every poll.
 */
import type { Collection, Filter } from 'mongodb';

export async function pageSince<T extends { _id: string; updated_at: Date }>(
  col: Collection<T>,
  since: Date,
  pageSize: number,
  maxPages: number,
  scope: Filter<T> = {},
): Promise<T[]> {
  const out: T[] = [];
  let filter: Filter<T> = { ...scope, updated_at: { $gte: since } } as Filter<T>;
  for (let page = 0; page < maxPages; page++) {
    const batch = (await col.find(filter).sort({ updated_at: 1, _id: 1 }).limit(pageSize).toArray()) as T[];
    out.push(...batch);
    if (batch.length < pageSize) break;
    const last = batch[batch.length - 1]!;
    filter = { ...scope, $or: [{ updated_at: { $gt: last.updated_at } }, { updated_at: last.updated_at, _id: { $gt: last._id } }] } as Filter<T>;
  }
  return out;
}
