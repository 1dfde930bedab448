/**
 * Airflow's connection URI form, both ways:
 *   aws://AKIA...:s%2Fecret@/?region_name=us-east-1&role_arn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx
 *   postgres://user:pass@host:5432/schema?sslmode=require
 *   http://https%3A%2F%2Fexample.com  or  http://https://example.com  (host with protocol)
 *   ...?__extra__=<json>  (extra that is not a flat string map)
 *
 * Parsing follows Python's urllib.parse (urlsplit / unquote / parse_qsl) as Airflow's
 * Connection._parse_from_uri uses it, not WHATWG URL: WHATWG rejects an empty host with
 * credentials (`aws://KEY:SECRET@/`), which is the most common AWS connection there is.
 */
import { InvalidInputError } from '../errors/invalid-input-error.ts';
import { extraDejson, normalizeConnType, type Connection } from './connection.ts';

const EXTRA_KEY = '__extra__';

/** A connection without its id (the id comes from where the URI was found). */
export type ConnectionFields = Omit<Connection, 'conn_id'>;

export function parseConnectionUri(uri: string): ConnectionFields {
  const schemeCount = uri.split('://').length - 1;
  if (schemeCount > 2) throw new InvalidInputError(`Invalid connection string: ${redactUri(uri)}.`);
  const hostWithProtocol = schemeCount === 2;
  const first = urlsplit(uri);
  if (!first.scheme) throw new InvalidInputError(`Invalid connection string: ${redactUri(uri)} (no conn_type scheme).`);
  const rawType = first.scheme;
  // Same trick as Airflow: drop "<type>://" and re-split, so a host carrying its own protocol parses.
  const rest = uri.replace(`${rawType}://`, hostWithProtocol ? '' : '//');
  if (hostWithProtocol) {
    const [protoPart] = rest.split('://', 1);
    if (protoPart.includes('@') || protoPart.includes(':')) {
      throw new InvalidInputError(`Invalid connection string: ${redactUri(uri)}.`);
    }
  }
  const parts = urlsplit(rest);
  const protocol = hostWithProtocol ? parts.scheme : null;
  const hostname = netlocHostname(parts);
  const host = protocol ? `${protocol}://${hostname}` : hostname;
  const quotedSchema = parts.path.slice(1);
  const extraFromQuery = (): string | null => {
    if (!parts.query) return null;
    const q = parseQsl(parts.query);
    if (EXTRA_KEY in q) return q[EXTRA_KEY];
    return JSON.stringify(q);
  };
  return {
    conn_type: normalizeConnType(rawType),
    description: null,
    host: host || null,
    schema: quotedSchema ? pyUnquote(quotedSchema) : null,
    login: parts.username ? pyUnquote(parts.username) : null,
    password: parts.password ? pyUnquote(parts.password) : null,
    port: parts.port,
    extra: extraFromQuery(),
  };
}

/** Airflow's Connection.get_uri(). */
export function toConnectionUri(conn: ConnectionFields): string {
  let uri = conn.conn_type ? `${conn.conn_type.toLowerCase().replace(/_/g, '-')}://` : '//';
  let host = conn.host ?? '';
  if (host.includes('://')) {
    const idx = host.indexOf('://');
    uri += `${host.slice(0, idx)}://`;
    host = host.slice(idx + 3);
  }
  let authority = '';
  if (conn.login != null) authority += pyQuote(conn.login);
  if (conn.password != null) authority += `:${pyQuote(conn.password)}`;
  if (authority) {
    authority += '@';
    uri += authority;
  }
  let hostBlock = host ? pyQuote(host) : '';
  if (conn.port) hostBlock += hostBlock === '' && authority === '' ? `@:${conn.port}` : `:${conn.port}`;
  if (conn.schema) hostBlock += `/${pyQuote(conn.schema)}`;
  uri += hostBlock;
  if (conn.extra) {
    const sep = conn.schema ? '?' : '/?';
    const dejson = extraDejson(conn);
    const flat = Object.values(dejson).every((v) => typeof v === 'string');
    const query = flat ? urlencode(dejson as Record<string, string>) : '';
    uri += sep + (query ? query : urlencode({ [EXTRA_KEY]: conn.extra }));
  }
  return uri;
}

/** The URI with its password replaced, for error messages. */
export function redactUri(uri: string): string {
  return uri.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

// ---- Python urllib.parse semantics, only what connections need ----

interface SplitResult {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
  username: string | null;
  password: string | null;
  hostname: string | null;
  port: number | null;
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+\-.]*$/;

function urlsplit(url: string): SplitResult {
  let scheme = '';
  let rest = url;
  const colon = url.indexOf(':');
  if (colon > 0 && SCHEME_RE.test(url.slice(0, colon))) {
    scheme = url.slice(0, colon).toLowerCase();
    rest = url.slice(colon + 1);
  }
  let netloc = '';
  if (rest.startsWith('//')) {
    rest = rest.slice(2);
    const end = rest.search(/[/?#]/);
    netloc = end === -1 ? rest : rest.slice(0, end);
    rest = end === -1 ? '' : rest.slice(end);
  }
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? '' : rest.slice(q + 1);

  const at = netloc.lastIndexOf('@');
  const userinfo = at === -1 ? null : netloc.slice(0, at);
  const hostinfo = at === -1 ? netloc : netloc.slice(at + 1);
  let username: string | null = null;
  let password: string | null = null;
  if (userinfo !== null) {
    const c = userinfo.indexOf(':');
    username = c === -1 ? userinfo : userinfo.slice(0, c);
    password = c === -1 ? null : userinfo.slice(c + 1);
  }
  let hostPart: string;
  let portPart: string;
  if (hostinfo.startsWith('[')) {
    const close = hostinfo.indexOf(']');
    hostPart = hostinfo.slice(1, close === -1 ? undefined : close);
    const after = close === -1 ? '' : hostinfo.slice(close + 1);
    portPart = after.startsWith(':') ? after.slice(1) : '';
  } else {
    const c = hostinfo.indexOf(':');
    hostPart = c === -1 ? hostinfo : hostinfo.slice(0, c);
    portPart = c === -1 ? '' : hostinfo.slice(c + 1);
  }
  let port: number | null = null;
  if (portPart !== '') {
    if (!/^\d+$/.test(portPart) || Number(portPart) > 65535) {
      throw new InvalidInputError(`Invalid connection string: port ${JSON.stringify(portPart)} is not an integer 0-65535.`);
    }
    port = Number(portPart);
  }
  return { scheme, netloc, path, query, username, password, hostname: hostPart ? hostPart.toLowerCase() : null, port };
}

/** Airflow's _parse_netloc_to_hostname: keeps the host's case and copes with '/' in an encoded host. */
function netlocHostname(parts: SplitResult): string {
  let hostname = pyUnquote(parts.hostname ?? '');
  if (hostname.includes('/')) {
    hostname = parts.netloc;
    if (hostname.includes('@')) hostname = hostname.slice(hostname.lastIndexOf('@') + 1);
    if (hostname.includes(':')) hostname = hostname.slice(0, hostname.indexOf(':'));
    hostname = pyUnquote(hostname);
  }
  return hostname;
}

/** Python's unquote: invalid escapes stay as they are instead of throwing. */
function pyUnquote(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (seq) => {
    try {
      return decodeURIComponent(seq);
    } catch {
      // Not valid UTF-8: decode byte-wise like Python's errors='replace'.
      return Buffer.from(
        seq
          .split('%')
          .slice(1)
          .map((h) => parseInt(h, 16)),
      ).toString('utf8');
    }
  });
}

/** Python's quote(s, safe=''): everything but letters, digits and `_.-~` is escaped. */
function pyQuote(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Python's urlencode (quote_plus on keys and values). */
function urlencode(obj: Record<string, string>): string {
  return Object.entries(obj)
    .map(([k, v]) => `${pyQuote(k).replace(/%20/g, '+')}=${pyQuote(v).replace(/%20/g, '+')}`)
    .join('&');
}

/** Python's dict(parse_qsl(q, keep_blank_values=True)): last value wins, '+' is a space. */
function parseQsl(q: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of q.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const k = eq === -1 ? pair : pair.slice(0, eq);
    const v = eq === -1 ? '' : pair.slice(eq + 1);
    out[pyUnquote(k.replace(/\+/g, ' '))] = pyUnquote(v.replace(/\+/g, ' '));
  }
  return out;
}
