/**
 * Connections changed by a user — `deferflow connections add / import` and the API's /connections
 * (and through it the UI's Admin → Connections page, with its import). Secrets are stored encrypted by the ConnectionRepository and
 * never leave the server: an edit that sends back a masked value (`***`, what the API shows for a
 * sensitive extra key) or leaves the password out keeps the stored secret. Each change is audited
 * (`connection.create` / `.update` / `.delete` / `.import`) with its id and type, never its secrets.
 */
import { extraDejson, isPlainObject, toConnection, type Connection, type ConnectionInput } from '../../connections/connection.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { ConnectionRepository } from '../../connections/connection-repository.ts';
import { isManagedConnection, MANAGED_CONNECTION_DESCRIPTION } from '../../connections/managed-connections.ts';
import { isDeferflowError } from '../../errors/deferflow-error.ts';
import { MASK } from '../../connections/secret-masker.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';
import { storedConnectionIds } from '../queries/connection-queries.ts';

export interface AddedConnection {
  connection: Connection;
  /** True when it replaced a connection deferflow had made for its local AWS. */
  replacedManaged: boolean;
}

/**
 * Add a connection. As Airflow's: an id that exists is an error (CONNECTION_EXISTS, whose hint
 * names `connections delete`), with one exception: a connection deferflow made itself for its
 * embedded local AWS (`deferflow standalone` creates `aws_default` and `aws-sagemaker`, marked by
 * their description) is replaced. Following a guide's `connections add aws_default …` on a fresh
 * standalone then does what the user meant — the id becomes theirs, and the standalone leaves it
 * alone from then on (it re-points only connections still carrying its mark). The replace is
 * guarded on that mark, so a concurrent edit wins.
 */
export async function addConnection(app: AppContext, input: ConnectionInput, repo = new ConnectionRepository(app.store)): Promise<AddedConnection> {
  let added: AddedConnection;
  try {
    added = { connection: await repo.add(input), replacedManaged: false };
  } catch (e) {
    if (!(isDeferflowError(e) && e.code === 'CONNECTION_EXISTS')) throw e;
    const existing = await app.store.connections.findOne({ _id: input.conn_id }, { projection: { description: 1 } });
    if (!isManagedConnection(existing)) throw e;
    const replaced = await repo.replaceIfDescription(input, MANAGED_CONNECTION_DESCRIPTION);
    if (!replaced) throw e;
    added = { connection: replaced, replacedManaged: true };
  }
  const { conn_id, conn_type } = added.connection;
  await audit(app, [{ event: 'connection.create', details: { conn_id, conn_type, ...(added.replacedManaged ? { replaced_managed: true } : {}) } }]);
  return added;
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

/**
 * Import many (`deferflow connections import`, the API's and UI's import): an id that exists is
 * skipped and reported, or replaced with `overwrite`. Every input is validated before anything is
 * written. Without `overwrite` the insert itself decides (unique id), so two imports at once
 * cannot both add one id.
 */
export async function importConnections(
  app: AppContext,
  inputs: ReadonlyArray<ConnectionInput>,
  opts: { overwrite: boolean },
  repo = new ConnectionRepository(app.store),
): Promise<{ created: string[]; updated: string[]; skipped: string[] }> {
  inputs.forEach((input, i) => {
    try {
      toConnection(input);
    } catch (e) {
      if (e instanceof InvalidInputError) throw new InvalidInputError(`Connection #${i + 1} (${String(input.conn_id)}) is invalid`, e.issues);
      throw e;
    }
  });
  const stored = opts.overwrite ? await storedConnectionIds(app.store) : new Set<string>();
  const out = { created: [] as string[], updated: [] as string[], skipped: [] as string[] };
  for (const input of inputs) {
    if (opts.overwrite) {
      await repo.upsert(input);
      (stored.has(input.conn_id) ? out.updated : out.created).push(input.conn_id);
      continue;
    }
    try {
      await repo.add(input);
      out.created.push(input.conn_id);
    } catch (e) {
      if (!(isDeferflowError(e) && e.code === 'CONNECTION_EXISTS')) throw e;
      out.skipped.push(input.conn_id);
    }
  }
  await audit(app, [{ event: 'connection.import', details: out }]);
  return out;
}
