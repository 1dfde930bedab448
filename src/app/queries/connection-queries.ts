/** A page of connection ids (the API lists ids, then reads each through ConnectionRepository, which decrypts and masks). */
import type { Store } from '../../store/store.ts';
import type { PageRequest } from './page.ts';

export async function pageConnectionIds(store: Store, page: PageRequest): Promise<{ ids: string[]; total: number }> {
  const [docs, total] = await Promise.all([
    store.connections
      .find({}, { projection: { _id: 1 } })
      .sort(page.sort)
      .skip(page.offset)
      .limit(page.limit)
      .toArray(),
    store.connections.countDocuments({}),
  ]);
  return { ids: docs.map((d) => d._id), total };
}

/** Ids of the connections stored in the database (not those given by DEFERFLOW_CONN_* variables). */
export async function storedConnectionIds(store: Store): Promise<Set<string>> {
  return new Set((await store.connections.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
}
