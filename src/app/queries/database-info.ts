/** What `deferflow db check` reports: which server, and whether each collection has its indexes. */
import type { Store } from '../../store/store.ts';
import { COLLECTIONS } from '../../store/schema.ts';

// trigger_shards (64 lease rows, read whole or by _id) and deployment (one row) need none either.
const ID_ONLY: ReadonlySet<string> = new Set([
  COLLECTIONS.variables,
  COLLECTIONS.connections,
  COLLECTIONS.importErrors,
  COLLECTIONS.triggerShards,
  COLLECTIONS.deployment,
]);
const INDEXED: ReadonlySet<string> = new Set(Object.values(COLLECTIONS).filter((c) => !ID_ONLY.has(c)));

export interface IndexStatus {
  collection: string;
  indexes: number;
  ok: boolean;
}

export async function indexStatus(store: Store): Promise<IndexStatus[]> {
  const out: IndexStatus[] = [];
  for (const name of Object.values(COLLECTIONS)) {
    let count = 0;
    try {
      count = (await store.db.collection(name).indexes()).length;
    } catch {
      count = 0; // collection does not exist yet
    }
    // Collections looked up only by _id need no secondary index (and exist once first written).
    out.push({ collection: name, indexes: count, ok: count > 0 || !INDEXED.has(name) });
  }
  return out;
}

/** 'MongoDB', or 'FerretDB <version>' when the server says it is FerretDB. */
export async function serverName(store: Store): Promise<string> {
  try {
    const hello = (await store.db.command({ buildInfo: 1 })) as { ferretdbVersion?: string; ferretdb?: unknown };
    if (hello.ferretdbVersion || hello.ferretdb) return `FerretDB ${hello.ferretdbVersion ?? ''}`.trim();
  } catch {
    // buildInfo already worked in ping(); a second failure changes nothing we report
  }
  return 'MongoDB';
}

export function databaseName(store: Store): string {
  return store.db.databaseName;
}
