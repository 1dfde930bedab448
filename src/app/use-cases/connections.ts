/**
 * Connections changed by a user — the API's /connections (and through it the UI's Admin →
 * Connections page, with its import). Secrets are stored encrypted by the ConnectionRepository and
 * never leave the server: an edit that sends back a masked value (`***`, what the API shows for a
 * sensitive extra key) or leaves the password out keeps the stored secret. Each change is audited
 * (`connection.create` / `.update` / `.delete` / `.import`) with its id and type, never its secrets.
 */
import { extraDejson, isPlainObject, toConnection, type Connection, type ConnectionInput } from '../../connections/connection.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import type { ConnectionRepository } from '../../connections/connection-repository.ts';
import { MASK } from '../../connections/secret-masker.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';
import { storedConnectionIds } from '../queries/connection-queries.ts';

export async function createConnection(app: AppContext, repo: ConnectionRepository, input: ConnectionInput): Promise<Connection> {
  const conn = await repo.add(input);
  await audit(app, [{ event: 'connection.create', details: { conn_id: conn.conn_id, conn_type: conn.conn_type } }]);
  return conn;
}

/** The fields of a connection a user may change; absent fields (and a password left out) are kept. */
export type ConnectionChanges = Partial<Omit<ConnectionInput, 'conn_id'>>;

/** Restore stored values behind masked ones, so an edit of what the API showed keeps the secrets. */
export function unmaskExtra(sent: ConnectionInput['extra'], stored: Pick<Connection, 'extra'>): ConnectionInput['extra'] {
  if (sent === undefined || sent === null || sent === '') return sent;
  let obj: unknown = sent;
  if (typeof sent === 'string') {
    try {
      obj = JSON.parse(sent);
    } catch {
      return sent; // toConnection says what is wrong with it
    }
  }
  if (!isPlainObject(obj)) return sent;
  const before = extraDejson(stored);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v === MASK && k in before ? before[k] : v;
  return out;
}

export async function updateConnection(app: AppContext, repo: ConnectionRepository, connId: string, changes: ConnectionChanges): Promise<Connection> {
  const current = await repo.get(connId);
  const next: ConnectionInput = { ...current };
  const changed: string[] = [];
  for (const [k, v] of Object.entries(changes) as Array<[keyof ConnectionChanges, unknown]>) {
    if (v === undefined) continue;
    if (k === 'password' && v === MASK) continue;
    (next as unknown as Record<string, unknown>)[k] = k === 'extra' ? unmaskExtra(v as ConnectionInput['extra'], current) : v;
    changed.push(k);
  }
  const conn = await repo.upsert(next);
  await audit(app, [{ event: 'connection.update', details: { conn_id: connId, conn_type: conn.conn_type, fields: changed } }]);
  return conn;
}

/** CONNECTION_NOT_FOUND when there is none. */
export async function deleteConnection(app: AppContext, repo: ConnectionRepository, connId: string): Promise<void> {
  await repo.delete(connId);
  await audit(app, [{ event: 'connection.delete', details: { conn_id: connId } }]);
}

/** Import many: existing ids are overwritten unless `skipExisting`. Every input is validated before anything is written. */
export async function importConnections(
  app: AppContext,
  repo: ConnectionRepository,
  inputs: ReadonlyArray<ConnectionInput>,
  opts: { skipExisting?: boolean } = {},
): Promise<{ created: string[]; updated: string[]; skipped: string[] }> {
  inputs.forEach((input, i) => {
    try {
      toConnection(input);
    } catch (e) {
      if (e instanceof InvalidInputError) throw new InvalidInputError(`Connection #${i + 1} (${String(input.conn_id)}) is invalid`, e.issues);
      throw e;
    }
  });
  const stored = await storedConnectionIds(app.store);
  const out = { created: [] as string[], updated: [] as string[], skipped: [] as string[] };
  for (const input of inputs) {
    const exists = stored.has(input.conn_id);
    if (exists && opts.skipExisting) {
      out.skipped.push(input.conn_id);
      continue;
    }
    await repo.upsert(input);
    (exists ? out.updated : out.created).push(input.conn_id);
  }
  await audit(app, [{ event: 'connection.import', details: out }]);
  return out;
}
