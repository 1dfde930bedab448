/**
 * Import connections — `deferflow connections import FILE [--overwrite]` (Airflow's): each one is
 * added; an id that exists is skipped and reported, or replaced with `overwrite`. Secrets are
 * encrypted as they are stored (ConnectionRepository), like any other connection.
 */
import { ConnectionRepository } from '../../connections/connection-repository.ts';
import type { Connection } from '../../connections/connection.ts';
import { isDeferflowError } from '../../errors/deferflow-error.ts';
import type { AppContext } from '../app-context.ts';

export interface ImportedConnections {
  imported: string[];
  /** Ids that existed and were left as they were (without `overwrite`). */
  skipped: string[];
}

export async function importConnections(
  app: AppContext,
  connections: ReadonlyArray<Connection>,
  opts: { overwrite: boolean },
  repo = new ConnectionRepository(app.store),
): Promise<ImportedConnections> {
  const out: ImportedConnections = { imported: [], skipped: [] };
  for (const c of connections) {
    if (opts.overwrite) {
      await repo.upsert(c);
      out.imported.push(c.conn_id);
      continue;
    }
    try {
      // The insert itself decides (unique id), so two imports at once cannot both add one id.
      await repo.add(c);
      out.imported.push(c.conn_id);
    } catch (e) {
      if (!(isDeferflowError(e) && e.code === 'CONNECTION_EXISTS')) throw e;
      out.skipped.push(c.conn_id);
    }
  }
  return out;
}
