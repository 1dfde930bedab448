/**
 * `DEFERFLOW_CONN_<ID>` environment overrides, Airflow's `AIRFLOW_CONN_<ID>`: the id upper-cased
 * with `-` → `_`; the value is a connection URI or a JSON object with the connection's fields.
 * Checked before the store, so a deployment can pin a connection without touching the database.
 */
import { InvalidInputError } from '../errors/invalid-input-error.ts';
import { toConnection, isPlainObject, type Connection, type ConnectionInput } from './connection.ts';
import { parseConnectionUri } from './connection-uri.ts';

export const CONN_ENV_PREFIX = 'DEFERFLOW_CONN_';

export function connectionEnvVarName(connId: string): string {
  return `${CONN_ENV_PREFIX}${connId.toUpperCase().replace(/-/g, '_')}`;
}

export function connectionFromEnv(connId: string, env: NodeJS.ProcessEnv = process.env): Connection | null {
  const name = connectionEnvVarName(connId);
  const value = env[name];
  if (value === undefined || value.trim() === '') return null;
  return parseConnectionValue(connId, value, name);
}

/** Every connection defined in the environment (ids lower-cased as Airflow does, `_` kept). */
export function connectionsFromEnv(env: NodeJS.ProcessEnv = process.env): Connection[] {
  const out: Connection[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(CONN_ENV_PREFIX) || !value?.trim()) continue;
    out.push(parseConnectionValue(name.slice(CONN_ENV_PREFIX.length).toLowerCase(), value, name));
  }
  return out;
}

/** A URI or a JSON document (`{"conn_type": "aws", "login": ..., "extra": {...}}`). */
export function parseConnectionValue(connId: string, value: string, source: string): Connection {
  const trimmed = value.trim();
  try {
    if (trimmed.startsWith('{')) {
      let doc: unknown;
      try {
        doc = JSON.parse(trimmed);
      } catch (e) {
        throw new InvalidInputError(`not valid JSON: ${(e as Error).message}`);
      }
      if (!isPlainObject(doc)) throw new InvalidInputError('JSON connection must be an object');
      const d = doc as Partial<ConnectionInput> & { uri?: string };
      if (typeof d.uri === 'string') return toConnection({ ...parseConnectionUri(d.uri), conn_id: connId });
      return toConnection({ ...d, conn_id: connId, conn_type: d.conn_type ?? '' } as ConnectionInput);
    }
    return toConnection({ ...parseConnectionUri(trimmed), conn_id: connId });
  } catch (e) {
    // Never echo the value: it holds the secret.
    throw new InvalidInputError(`Connection '${connId}' from ${source} is invalid: ${(e as Error).message}`);
  }
}
