/**
 * An Airflow-style connection: the fields `airflow connections add` takes (conn_type, host, login,
 * password, schema, port, extra JSON). Values here are always plaintext; encryption happens only
 * where the connection is stored (connection-repository.ts).
 */
import { InvalidInputError } from '../errors/invalid-input-error.ts';

export interface Connection {
  conn_id: string;
  conn_type: string;
  description: string | null;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  /** JSON object as a string (Airflow keeps `extra` as text too). */
  extra: string | null;
}

/** Fields a caller may give; everything but conn_id/conn_type is optional. `extra` may be an object. */
export interface ConnectionInput {
  conn_id: string;
  conn_type: string;
  description?: string | null;
  host?: string | null;
  schema?: string | null;
  login?: string | null;
  password?: string | null;
  port?: number | string | null;
  extra?: string | Record<string, unknown> | null;
}

/** What templates see as `conn.<id>` (Airflow's Connection attributes plus `extra_dejson`). */
export interface ConnectionView extends Connection {
  extra_dejson: Record<string, unknown>;
}

const CONN_ID_RE = /^[A-Za-z0-9_.-]{1,250}$/;

/** Normalise and validate a connection as given by the CLI, API or a DAG author. */
export function toConnection(input: ConnectionInput): Connection {
  const issues: { path: string; message: string }[] = [];
  if (typeof input.conn_id !== 'string' || !CONN_ID_RE.test(input.conn_id)) {
    issues.push({ path: 'conn_id', message: "use 1-250 letters, digits, '_', '.' or '-'" });
  }
  if (typeof input.conn_type !== 'string' || input.conn_type.trim() === '') {
    issues.push({ path: 'conn_type', message: 'is required' });
  }
  let port: number | null = null;
  if (input.port !== undefined && input.port !== null && input.port !== '') {
    port = typeof input.port === 'number' ? input.port : Number(input.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      issues.push({ path: 'port', message: `must be an integer 0-65535, got ${JSON.stringify(input.port)}` });
    }
  }
  let extra: string | null = null;
  if (input.extra !== undefined && input.extra !== null && input.extra !== '') {
    if (typeof input.extra === 'string') {
      try {
        const parsed: unknown = JSON.parse(input.extra);
        if (!isPlainObject(parsed)) throw new Error('not an object');
        extra = input.extra;
      } catch {
        issues.push({ path: 'extra', message: 'must be a JSON object' });
      }
    } else if (isPlainObject(input.extra)) {
      extra = JSON.stringify(input.extra);
    } else {
      issues.push({ path: 'extra', message: 'must be a JSON object' });
    }
  }
  if (issues.length) throw new InvalidInputError(`Invalid connection ${JSON.stringify(input.conn_id)}`, issues);
  return {
    conn_id: input.conn_id,
    conn_type: normalizeConnType(input.conn_type),
    description: emptyToNull(input.description),
    host: emptyToNull(input.host),
    schema: emptyToNull(input.schema),
    login: emptyToNull(input.login),
    password: emptyToNull(input.password),
    port,
    extra,
  };
}

/** Airflow's `extra_dejson`: the extra parsed as an object; {} when absent or not JSON. */
export function extraDejson(conn: Pick<Connection, 'extra'>): Record<string, unknown> {
  if (!conn.extra) return {};
  try {
    const v: unknown = JSON.parse(conn.extra);
    return isPlainObject(v) ? v : {};
  } catch {
    return {};
  }
}

export function toConnectionView(conn: Connection): ConnectionView {
  return { ...conn, extra_dejson: extraDejson(conn) };
}

/** Airflow normalises URI schemes: `postgresql` → `postgres`, `-` → `_` (URIs cannot carry `_`). */
export function normalizeConnType(t: string): string {
  const lowered = t.trim();
  if (lowered === 'postgresql') return 'postgres';
  return lowered.replace(/-/g, '_');
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function emptyToNull(v: string | null | undefined): string | null {
  return v === undefined || v === null || v === '' ? null : v;
}
