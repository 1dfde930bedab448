/**
 * Connections in the `connections` collection, secrets encrypted at rest (password, and the whole
 * extra JSON, AES-256-GCM). Reads check `DEFERFLOW_CONN_<ID>` first, like Airflow's
 * AIRFLOW_CONN_<ID>. Every secret read is taught to the process-wide masker, so it can never be
 * printed afterwards; `list` returns secrets masked.
 */
import { MongoServerError } from 'mongodb';
import { DeferflowError } from '../errors/deferflow-error.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import type { ConnectionDoc } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { extraDejson, toConnection, type Connection, type ConnectionInput } from './connection.ts';
import { connectionFromEnv } from './connection-env.ts';
import { SecretCipher } from './secret-cipher.ts';
import { globalSecretMasker, MASK, type SecretMasker } from './secret-masker.ts';

export interface ConnectionRepositoryOptions {
  cipher?: SecretCipher;
  /** Environment for DEFERFLOW_CONN_* overrides and the secret key (default process.env). */
  env?: NodeJS.ProcessEnv;
  masker?: SecretMasker;
}

/** A connection as listed: password masked, sensitive extra values masked. */
export interface MaskedConnection extends Connection {
  /** Where the effective definition comes from. */
  source: 'store' | 'env';
}

type ConnectionsStore = Pick<Store, 'connections'>;

export class ConnectionRepository {
  private readonly cipher: SecretCipher;
  private readonly env: NodeJS.ProcessEnv;
  private readonly masker: SecretMasker;

  constructor(
    private readonly store: ConnectionsStore,
    opts: ConnectionRepositoryOptions = {},
  ) {
    this.env = opts.env ?? process.env;
    this.cipher = opts.cipher ?? new SecretCipher(undefined, this.env);
    this.masker = opts.masker ?? globalSecretMasker;
  }

  /** Insert a new connection; CONNECTION_EXISTS if the id is taken (Airflow's `connections add`). */
  async add(input: ConnectionInput): Promise<Connection> {
    const conn = toConnection(input);
    try {
      await this.store.connections.insertOne(this.toDoc(conn));
    } catch (e) {
      if (e instanceof MongoServerError && e.code === 11000) {
        throw new DeferflowError('CONNECTION_EXISTS', `A connection with \`conn_id\`=${conn.conn_id} already exists.`, {
          hint: `To replace it, delete it first (\`deferflow connections delete ${conn.conn_id}\`), then add it again.`,
        });
      }
      throw e;
    }
    this.learn(conn);
    return conn;
  }

  /**
   * Replace a stored connection only while it still has `expectedDescription` (a guarded replace:
   * a concurrent edit of it wins); false when it does not match or no longer exists.
   */
  async replaceIfDescription(input: ConnectionInput, expectedDescription: string): Promise<Connection | null> {
    const conn = toConnection(input);
    const { _id, ...doc } = this.toDoc(conn);
    const r = await this.store.connections.replaceOne({ _id, description: expectedDescription }, doc);
    if (r.matchedCount !== 1) return null;
    this.learn(conn);
    return conn;
  }

  /** Create or replace. */
  async upsert(input: ConnectionInput): Promise<Connection> {
    const conn = toConnection(input);
    const { _id, ...doc } = this.toDoc(conn);
    await this.store.connections.replaceOne({ _id }, doc, { upsert: true });
    this.learn(conn);
    return conn;
  }

  /** The effective connection (env override, else store), decrypted; null when neither has it. */
  async find(connId: string): Promise<Connection | null> {
    const fromEnv = connectionFromEnv(connId, this.env);
    if (fromEnv) {
      this.learn(fromEnv);
      return fromEnv;
    }
    const doc = await this.store.connections.findOne({ _id: connId });
    if (!doc) return null;
    const conn = this.fromDoc(doc);
    this.learn(conn);
    return conn;
  }

  /** Like find, but CONNECTION_NOT_FOUND when absent. */
  async get(connId: string): Promise<Connection> {
    const conn = await this.find(connId);
    if (!conn) {
      throw new NotFoundError(
        'CONNECTION_NOT_FOUND',
        `The conn_id '${connId}' isn't defined`,
        `Add it with 'deferflow connections add ${connId} --conn-uri ...' or set DEFERFLOW_CONN_${connId.toUpperCase().replace(/-/g, '_')}`,
      );
    }
    return conn;
  }

  /** Every stored connection, decrypted (for template preloading; never print these). */
  async all(): Promise<Connection[]> {
    const docs = await this.store.connections.find({}).sort({ _id: 1 }).toArray();
    return docs.map((d) => {
      const c = this.fromDoc(d);
      this.learn(c);
      return c;
    });
  }

  /** Stored connections with secrets masked, sorted by id. */
  async list(): Promise<MaskedConnection[]> {
    const docs = await this.store.connections.find({}).sort({ _id: 1 }).toArray();
    return docs.map((d) => ({ ...maskConnection(this.fromDoc(d), this.masker), source: 'store' as const }));
  }

  /** Delete a stored connection; CONNECTION_NOT_FOUND when there is none. */
  async delete(connId: string): Promise<void> {
    const r = await this.store.connections.deleteOne({ _id: connId });
    if (r.deletedCount === 0) {
      throw new NotFoundError('CONNECTION_NOT_FOUND', `Did not find a connection with conn_id '${connId}'`);
    }
  }

  private toDoc(conn: Connection): ConnectionDoc {
    return {
      _id: conn.conn_id,
      conn_id: conn.conn_id,
      conn_type: conn.conn_type,
      description: conn.description,
      host: conn.host,
      schema: conn.schema,
      login: conn.login,
      password: conn.password === null ? null : this.cipher.encrypt(conn.password),
      port: conn.port,
      extra: conn.extra === null ? null : this.cipher.encrypt(conn.extra),
      updated_at: new Date(),
    };
  }

  private fromDoc(doc: ConnectionDoc): Connection {
    return {
      conn_id: doc.conn_id,
      conn_type: doc.conn_type,
      description: doc.description ?? null,
      host: doc.host ?? null,
      schema: doc.schema ?? null,
      login: doc.login ?? null,
      password: doc.password == null ? null : this.cipher.decrypt(doc.password, `the password of connection '${doc.conn_id}'`),
      port: doc.port ?? null,
      extra: doc.extra == null ? null : this.cipher.decrypt(doc.extra, `the extra of connection '${doc.conn_id}'`),
    };
  }

  private learn(conn: Connection): void {
    learnConnectionSecrets(conn, this.masker);
  }
}

/** Teach a masker every secret a connection holds. */
export function learnConnectionSecrets(conn: Connection, masker: SecretMasker = globalSecretMasker): void {
  if (conn.password) masker.add(conn.password);
  if (conn.extra) masker.addSensitiveValues(extraDejson(conn));
}

/** A copy safe to print: password `***`, sensitive extra values `***`. */
export function maskConnection(conn: Connection, masker: SecretMasker = globalSecretMasker): Connection {
  const extra = conn.extra === null ? null : JSON.stringify(masker.redact(extraDejson(conn)));
  return { ...conn, password: conn.password === null ? null : MASK, extra };
}
