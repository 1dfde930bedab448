/**
 * A preloaded, synchronous view of connections for templates (`{{ conn.my_db.host }}`): templates
 * render synchronously, so connections are read once (store + env overrides) before rendering.
 */
import type { Store } from '../store/store.ts';
import { toConnectionView, type ConnectionView } from './connection.ts';
import { CONN_ENV_PREFIX, connectionEnvVarName, parseConnectionValue } from './connection-env.ts';
import { ConnectionRepository, learnConnectionSecrets } from './connection-repository.ts';

export interface ConnectionLookup {
  /** The connection, or undefined when it is defined nowhere. */
  get(connId: string): ConnectionView | undefined;
  has(connId: string): boolean;
  /** Ids of stored connections plus env-defined ones (env ids lower-cased, as Airflow lists them). */
  ids(): string[];
  /** Re-read the store and environment (long-lived processes call this per try). */
  refresh(): Promise<void>;
}

export async function connectionLookup(
  source: Pick<Store, 'connections'> | ConnectionRepository,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConnectionLookup> {
  const repo = source instanceof ConnectionRepository ? source : new ConnectionRepository(source, { env });
  let stored = new Map<string, ConnectionView>();
  // Keyed by variable name: an id's case and '-' are lost in it, so lookups go through the name.
  let fromEnv = new Map<string, ConnectionView>();
  const load = async (): Promise<void> => {
    const nextStored = new Map<string, ConnectionView>();
    for (const c of await repo.all()) nextStored.set(c.conn_id, toConnectionView(c));
    const nextEnv = new Map<string, ConnectionView>();
    for (const [name, value] of Object.entries(env)) {
      if (!name.startsWith(CONN_ENV_PREFIX) || !value?.trim()) continue;
      const c = parseConnectionValue(name.slice(CONN_ENV_PREFIX.length).toLowerCase(), value, name);
      learnConnectionSecrets(c);
      nextEnv.set(name, toConnectionView(c));
    }
    stored = nextStored;
    fromEnv = nextEnv;
  };
  await load();
  const resolve = (id: string): ConnectionView | undefined => {
    const e = fromEnv.get(connectionEnvVarName(id));
    return e ? { ...e, conn_id: id } : stored.get(id);
  };
  return {
    get: resolve,
    has: (id) => resolve(id) !== undefined,
    ids: () => [...new Set([...stored.keys(), ...[...fromEnv.values()].map((c) => c.conn_id)])].sort(),
    refresh: load,
  };
}
