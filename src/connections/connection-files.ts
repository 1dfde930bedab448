/**
 * Airflow's connection files (airflow/secrets/local_filesystem.py and `airflow connections
 * export`), for `deferflow connections import|export`:
 *
 *  - json: `{"conn_id": {"conn_type": …, "host": …, "login": …, "password": …, "schema": …,
 *    "port": …, "extra": …, "description": …}, "other": "aws://KEY:SECRET@/?region_name=…"}` —
 *    each value an object of those fields (`extra` a JSON string or an object; `extra_dejson` an
 *    object) or a connection URI;
 *  - yaml: the same structure in YAML;
 *  - env: one `conn_id=URI` or `conn_id={"conn_type": …}` per line, `#` comments and blank lines
 *    allowed.
 *
 * Parse errors name the file, the line (env) or the connection id and say what to fix, and never
 * echo a value: values hold secrets.
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { InvalidInputError } from '../errors/invalid-input-error.ts';
import { isPlainObject, toConnection, type Connection, type ConnectionInput } from './connection.ts';
import { parseConnectionUri, toConnectionUri } from './connection-uri.ts';

export const CONNECTION_FILE_FORMATS = ['json', 'yaml', 'env'] as const;
export type ConnectionFileFormat = (typeof CONNECTION_FILE_FORMATS)[number];
export const CONNECTION_SERIALIZATIONS = ['uri', 'json'] as const;
export type ConnectionSerialization = (typeof CONNECTION_SERIALIZATIONS)[number];

/** The format a file's extension names (`.json`, `.yaml`/`.yml`, `.env`), or null. */
export function connectionFileFormatOf(path: string): ConnectionFileFormat | null {
  const m = /\.(json|ya?ml|env)$/i.exec(path);
  if (!m) return null;
  const ext = m[1].toLowerCase();
  return ext === 'yml' || ext === 'yaml' ? 'yaml' : (ext as ConnectionFileFormat);
}

/** The fields a connection object in a file may have (Airflow's Connection parameters). */
const FIELDS = new Set(['conn_id', 'conn_type', 'description', 'host', 'schema', 'login', 'password', 'port', 'extra', 'extra_dejson', 'uri']);

/** Every connection of a file, validated; `where` names the file in messages. */
export function parseConnectionsFile(text: string, format: ConnectionFileFormat, where: string): Connection[] {
  if (format === 'env') return parseEnvFile(text, where);
  let doc: unknown;
  try {
    doc = format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new InvalidInputError(`${where} is not valid ${format.toUpperCase()}${syntaxErrorPlace(e)}`);
  }
  if (doc === null || doc === undefined) return [];
  if (!isPlainObject(doc)) {
    throw new InvalidInputError(`${where} must hold an object of connections by id, such as {"my_conn": {"conn_type": "aws", "login": "…"}}`);
  }
  const out: Connection[] = [];
  Object.keys(doc).forEach((connId, i) => {
    checkConnId(connId, `${where}: the ${ordinal(i + 1)} connection`);
  });
  for (const [connId, value] of Object.entries(doc)) {
    // Airflow accepts a one-element list for an id; more than one is ambiguous.
    let v = value;
    if (Array.isArray(v)) {
      if (v.length !== 1) throw new InvalidInputError(`${where}: connection '${connId}' is given ${v.length} times; give exactly one`);
      v = v[0];
    }
    out.push(connectionOf(connId, v, `${where}: connection '${connId}'`));
  }
  return out;
}

function parseEnvFile(text: string, where: string): Connection[] {
  const out: Connection[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `${where}:${i + 1}`;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new InvalidInputError(`${at}: expected CONN_ID=URI or CONN_ID={json}, one connection per line`);
    const connId = line.slice(0, eq).trim();
    checkConnId(connId, at);
    const value = line.slice(eq + 1).trim();
    if (seen.has(connId)) throw new InvalidInputError(`${at}: connection '${connId}' is given twice; give it once`);
    seen.add(connId);
    let parsed: unknown = value;
    if (value.startsWith('{')) {
      try {
        parsed = JSON.parse(value);
      } catch (e) {
        throw new InvalidInputError(`${at}: connection '${connId}' is not valid JSON${syntaxErrorPlace(e)}`);
      }
    }
    out.push(connectionOf(connId, parsed, `${at}: connection '${connId}'`));
  });
  return out;
}

const CONN_ID_RE = /^[A-Za-z0-9_.-]{1,250}$/;

/**
 * A key that is not a connection id is refused without being shown: in a malformed line it may
 * well be part of a secret (an env line whose `=` sits inside the password).
 */
function checkConnId(connId: string, where: string): void {
  if (!CONN_ID_RE.test(connId)) {
    throw new InvalidInputError(`${where}: the connection id is not one (use 1-250 letters, digits, '_', '.' or '-'; env files: CONN_ID=URI, one per line)`);
  }
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/**
 * Where a JSON/YAML syntax error is, without the parser's excerpt of the text: newer Node versions
 * quote the JSON around the error, and that text may be a password.
 */
function syntaxErrorPlace(e: unknown): string {
  const msg = e instanceof Error ? e.message : '';
  const place = /at line \d+, column \d+/.exec(msg)?.[0] ?? /position \d+(?: \(line \d+ column \d+\))?/.exec(msg)?.[0];
  return place ? ` (${place})` : '';
}

const TEXT_FIELDS = ['conn_type', 'description', 'host', 'schema', 'login', 'password'] as const;

function connectionOf(connId: string, value: unknown, where: string): Connection {
  try {
    if (typeof value === 'string') {
      if (value.trim() === '') throw new InvalidInputError('is empty: give a URI such as aws://KEY:SECRET@/?region_name=us-east-1 or an object of fields');
      return toConnection({ ...parseConnectionUri(value.trim()), conn_id: connId });
    }
    if (!isPlainObject(value)) throw new InvalidInputError('must be a connection URI or an object of fields (conn_type, host, login, password, …)');
    const illegal = Object.keys(value).filter((k) => !FIELDS.has(k));
    if (illegal.length) throw new InvalidInputError(`has unknown fields ${illegal.join(', ')}; allowed: ${[...FIELDS].join(', ')}`);
    if (value.conn_id !== undefined && value.conn_id !== connId)
      throw new InvalidInputError(`says conn_id ${JSON.stringify(value.conn_id)} under the key '${connId}'`);
    if (typeof value.uri === 'string') {
      const others = Object.keys(value).filter((k) => k !== 'uri' && k !== 'conn_id');
      if (others.length) throw new InvalidInputError(`gives both uri and ${others.join(', ')}; give one or the other`);
      return toConnection({ ...parseConnectionUri(value.uri), conn_id: connId });
    }
    for (const k of TEXT_FIELDS) {
      const v = value[k];
      if (v !== undefined && v !== null && typeof v !== 'string') throw new InvalidInputError(`${k} must be text (quote it)`);
    }
    if (value.port !== undefined && value.port !== null && typeof value.port !== 'number' && !(typeof value.port === 'string' && /^\d*$/.test(value.port)))
      throw new InvalidInputError('port must be a number such as 5432');
    if (value.extra !== undefined && value.extra !== null && value.extra_dejson !== undefined)
      throw new InvalidInputError('gives both extra and extra_dejson; give one');
    const { extra_dejson, conn_id: _ignored, uri: _uri, ...fields } = value;
    const input = { ...fields, conn_id: connId, conn_type: typeof fields.conn_type === 'string' ? fields.conn_type : '' } as ConnectionInput;
    if (extra_dejson !== undefined) input.extra = extra_dejson as Record<string, unknown>;
    return toConnection(input);
  } catch (e) {
    throw new InvalidInputError(`${where} ${(e as Error).message}`);
  }
}

/** Airflow's export shape of one connection (`_connection_to_dict`). */
function toFields(c: Connection): Record<string, unknown> {
  return {
    conn_type: c.conn_type,
    description: c.description,
    login: c.login,
    password: c.password,
    host: c.host,
    port: c.port,
    schema: c.schema,
    extra: c.extra,
  };
}

/** The file text for these connections (secrets in clear: the file is what the user asked for). */
export function formatConnectionsFile(conns: ReadonlyArray<Connection>, format: ConnectionFileFormat, serialization: ConnectionSerialization = 'uri'): string {
  if (format === 'env') {
    const lines = conns.map((c) => `${c.conn_id}=${serialization === 'json' ? JSON.stringify(toFields(c)) : toConnectionUri(c)}`);
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
  const doc = Object.fromEntries(conns.map((c) => [c.conn_id, toFields(c)]));
  return format === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : stringifyYaml(doc);
}
