/**
 * Jinja-compatible rendering on nunjucks.
 *
 * Nunjucks parses Jinja syntax but evaluates it with JavaScript semantics. Templates written for
 * Airflow rely on a few Python behaviours, which we supply *only while one of our renders runs*
 * (a depth counter, so any other nunjucks user in the process keeps stock behaviour):
 *
 * - Jinja's Undefined: `{{ missing }}` renders '', but `{{ missing.attr }}` raises (nunjucks would
 *   silently render ''); `None.attr` is undefined, like Jinja's getattr on None.
 * - Python `__getattr__`: `var.value.my_key`, `conn.my_conn` (objects exposing GETATTR).
 * - dict methods on plain objects (`conf.get('k', 'd')`, `.items()`, `.keys()`, `.values()`), Python
 *   str methods (`.upper()`, `.strip()`, `.replace()` replacing all, `.split()` …), negative indexes.
 * - output like Python's str(): None → 'None', True → 'True', lists/dicts as Python reprs.
 * - Jinja drops one trailing newline of the template (keep_trailing_newline=False).
 */
import nunjucks from 'nunjucks';
import { DeferflowError } from '../errors/deferflow-error.ts';
import { GETATTR, templateDateValue } from './context.ts';
import { ds, dsNodash, isoUtc, tsNodash, tsNodashWithTz } from '../util/time-format.ts';

// ----- errors ----------------------------------------------------------------------------------------

const MAX_TEMPLATE_IN_MESSAGE = 200;

function causeMessage(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

export class TemplateRenderError extends DeferflowError {
  readonly taskId: string;
  readonly fieldPath: string;
  readonly template: string;
  constructor(taskId: string, fieldPath: string, template: string, cause: unknown) {
    const shown = template.length > MAX_TEMPLATE_IN_MESSAGE ? `${template.slice(0, MAX_TEMPLATE_IN_MESSAGE)}…` : template;
    super('TEMPLATE_RENDER_ERROR', `Task '${taskId}': cannot render field ${fieldPath} (template ${JSON.stringify(shown)}): ${causeMessage(cause)}`, { cause });
    this.taskId = taskId;
    this.fieldPath = fieldPath;
    this.template = template;
  }
}

// ----- Python-like stringification ------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function pyNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  // Python pads exponents to two digits: 1e-07.
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

function pyStringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** Python's repr() for values nested in a list/dict. */
function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'string') return pyStringRepr(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return pyNumber(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isPlainObject(v))
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyStringRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  if (v instanceof Date) return pyStringRepr(isoUtc(v));
  return String(v);
}

/** Python's str(): what `{{ value }}` prints in Jinja. */
export function pyStr(v: unknown): string {
  if (v === undefined) return '';
  if (v === null) return 'None';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return pyNumber(v);
  if (Array.isArray(v) || isPlainObject(v)) return pyRepr(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : isoUtc(v);
  return String(v);
}

// ----- Python methods on JS values ----------------------------------------------------------------

type Method = (...args: unknown[]) => unknown;

function stripArgs(args: unknown[]): unknown[] {
  const last = args[args.length - 1];
  if (typeof last === 'object' && last !== null && (last as { __keywords?: unknown }).__keywords === true) {
    const { __keywords: _k, ...kw } = last as Record<string, unknown>;
    return [...args.slice(0, -1), ...Object.values(kw)];
  }
  return args;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function pyStrip(s: string, chars: unknown, left: boolean, right: boolean): string {
  const set = chars === undefined || chars === null ? '\\s' : escapeRe(String(chars));
  if (set === '') return s;
  let out = s;
  if (left) out = out.replace(new RegExp(`^[${set}]+`, 'u'), '');
  if (right) out = out.replace(new RegExp(`[${set}]+$`, 'u'), '');
  return out;
}

function pySplit(s: string, sep: unknown, maxsplit: unknown): string[] {
  const max = typeof maxsplit === 'number' && maxsplit >= 0 ? maxsplit : Infinity;
  if (sep === undefined || sep === null) {
    const words: string[] = [];
    let rest = s.replace(/^\s+/, '');
    while (rest.length > 0) {
      if (words.length >= max) {
        words.push(rest.replace(/\s+$/, ''));
        break;
      }
      const m = /\s+/.exec(rest);
      if (!m) {
        words.push(rest);
        break;
      }
      words.push(rest.slice(0, m.index));
      rest = rest.slice(m.index + m[0].length);
    }
    return words;
  }
  const separator = String(sep);
  if (separator === '') throw new Error('ValueError: empty separator');
  const parts: string[] = [];
  let rest = s;
  while (parts.length < max) {
    const i = rest.indexOf(separator);
    if (i < 0) break;
    parts.push(rest.slice(0, i));
    rest = rest.slice(i + separator.length);
  }
  parts.push(rest);
  return parts;
}

function strMethods(s: string): Record<string, Method> {
  return {
    upper: () => s.toUpperCase(),
    lower: () => s.toLowerCase(),
    strip: (...a) => pyStrip(s, stripArgs(a)[0], true, true),
    lstrip: (...a) => pyStrip(s, stripArgs(a)[0], true, false),
    rstrip: (...a) => pyStrip(s, stripArgs(a)[0], false, true),
    startswith: (prefix) => (Array.isArray(prefix) ? prefix.some((p) => s.startsWith(String(p))) : s.startsWith(String(prefix))),
    endswith: (suffix) => (Array.isArray(suffix) ? suffix.some((p) => s.endsWith(String(p))) : s.endsWith(String(suffix))),
    replace: (...a) => {
      // Python replaces every occurrence (JS's String#replace only the first).
      const [oldS, newS, count] = stripArgs(a);
      const parts = s.split(String(oldS));
      const n = typeof count === 'number' && count >= 0 ? count : Infinity;
      if (n >= parts.length - 1) return parts.join(String(newS));
      return parts.slice(0, n + 1).join(String(newS)) + String(oldS) + parts.slice(n + 1).join(String(oldS));
    },
    split: (...a) => {
      const [sep, maxsplit] = stripArgs(a);
      return pySplit(s, sep, maxsplit);
    },
    title: () => s.toLowerCase().replace(/(^|[^a-zA-Z])([a-z])/g, (_m, p: string, c: string) => p + c.toUpperCase()),
    capitalize: () => (s.length ? s[0].toUpperCase() + s.slice(1).toLowerCase() : s),
    zfill: (width) => {
      const w = Number(width);
      const sign = /^[+-]/.test(s) ? s[0] : '';
      return sign + s.slice(sign.length).padStart(w - sign.length, '0');
    },
    isdigit: () => /^\d+$/.test(s),
    find: (sub) => s.indexOf(String(sub)),
    join: (items) => (Array.isArray(items) ? items.map((x) => pyStr(x)).join(s) : String(items).split('').join(s)),
  };
}

function dictMethods(d: Record<string, unknown>): Record<string, Method> {
  const own = (k: unknown): boolean => Object.hasOwn(d, String(k));
  return {
    get: (...a) => {
      const [k, dflt] = stripArgs(a);
      return own(k) ? d[String(k)] : dflt === undefined ? null : dflt;
    },
    keys: () => Object.keys(d),
    values: () => Object.values(d),
    items: () => Object.entries(d),
  };
}

const STR_METHOD_NAMES = new Set(Object.keys(strMethods('')));
const DICT_METHOD_NAMES = new Set(Object.keys(dictMethods({})));

// ----- patching nunjucks' runtime (only active inside our renders) ---------------------------------

interface NunjucksRuntime {
  memberLookup(obj: unknown, key: unknown): unknown;
  suppressValue(val: unknown, autoescape: boolean): unknown;
}

interface PatchState {
  depth: number;
}

const STATE_KEY = Symbol.for('deferflow.templating.state');
const runtime = (nunjucks as unknown as { runtime: NunjucksRuntime & { [STATE_KEY]?: PatchState } }).runtime;

const BLOCKED_KEYS = new Set(['constructor', '__proto__', 'prototype']);

function installRuntimePatch(): PatchState {
  const existing = runtime[STATE_KEY];
  if (existing) return existing;
  const state: PatchState = { depth: 0 };
  const originalLookup = runtime.memberLookup.bind(runtime);
  const originalSuppress = runtime.suppressValue.bind(runtime);

  runtime.memberLookup = (obj: unknown, key: unknown): unknown => {
    if (state.depth === 0) return originalLookup(obj, key);
    const name = typeof key === 'number' ? key : String(key);
    if (obj === undefined) {
      throw new Error(`cannot read attribute '${String(key)}' of an undefined value`);
    }
    if (obj === null) return undefined;
    // Templates are code, but reaching Function through `.constructor` is never legitimate;
    // Airflow's sandboxed Jinja blocks the same dunder route.
    if (typeof name === 'string' && BLOCKED_KEYS.has(name)) return undefined;
    if (typeof name === 'number' && name < 0 && (Array.isArray(obj) || typeof obj === 'string')) {
      return (obj as ArrayLike<unknown>)[obj.length + name];
    }
    if (typeof obj === 'string') {
      if (typeof name === 'string' && STR_METHOD_NAMES.has(name)) return strMethods(obj)[name];
      return originalLookup(obj, key);
    }
    if (typeof obj === 'object') {
      const target = obj as Record<PropertyKey, unknown>;
      if (typeof name === 'string' && !(name in target) && typeof target[GETATTR] === 'function') {
        return (target[GETATTR] as (k: string) => unknown).call(obj, name);
      }
      // Data wins over a dict method of the same name: nunjucks cannot tell `d.keys` from `d['keys']`.
      if (typeof name === 'string' && DICT_METHOD_NAMES.has(name) && isPlainObject(obj) && !Object.hasOwn(obj, name)) {
        return dictMethods(obj)[name];
      }
    }
    return originalLookup(obj, key);
  };

  runtime.suppressValue = (val: unknown, autoescape: boolean): unknown => {
    if (state.depth === 0) return originalSuppress(val, autoescape);
    return originalSuppress(pyStr(val), autoescape);
  };

  runtime[STATE_KEY] = state;
  return state;
}

// Installed at the first render, not on import: importing this module changes nothing global.
let patch: PatchState | null = null;

// ----- environment and filters ---------------------------------------------------------------------

type KwArgs = Record<string, unknown>;

function splitKw(args: unknown[]): { positional: unknown[]; kw: KwArgs } {
  const last = args[args.length - 1];
  if (typeof last === 'object' && last !== null && (last as { __keywords?: unknown }).__keywords === true) {
    const { __keywords: _k, ...kw } = last as KwArgs;
    return { positional: args.slice(0, -1), kw };
  }
  return { positional: args, kw: {} };
}

function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e)
      out += `\\u${c.toString(16).padStart(4, '0')}`; // ensure_ascii
    else out += ch;
  }
  return `${out}"`;
}

/** Python's json.dumps(sort_keys=True), Jinja's tojson policy. */
function pyJsonDumps(value: unknown, indent: number | null, level = 0): string | undefined {
  let v = value;
  if (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON: () => unknown }).toJSON();
  }
  if (v === null) return 'null';
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return jsonString(v);
  const nl = indent === null ? '' : `\n${' '.repeat(indent * (level + 1))}`;
  const close = indent === null ? '' : `\n${' '.repeat(indent * level)}`;
  const sep = indent === null ? ', ' : ',';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${nl}${v.map((x) => pyJsonDumps(x, indent, level + 1) ?? 'null').join(sep + nl)}${close}]`;
  }
  if (isPlainObject(v)) {
    const entries = Object.keys(v)
      .sort()
      .flatMap((k) => {
        const s = pyJsonDumps(v[k], indent, level + 1);
        return s === undefined ? [] : [`${jsonString(k)}: ${s}`];
      });
    if (entries.length === 0) return '{}';
    return `{${nl}${entries.join(sep + nl)}${close}}`;
  }
  throw new TypeError(`Object of type ${(v as object).constructor?.name ?? typeof v} is not JSON serializable`);
}

/** Python %-formatting for the `format` filter: %s %r %d %i %f %x %X %o %e %%. */
function percentFormat(fmt: string, values: unknown[]): string {
  let i = 0;
  return fmt.replace(
    /%([-+ 0#]*)(\d+)?(?:\.(\d+))?([srdifFxXoeE%])/g,
    (_m, flags: string, width: string | undefined, prec: string | undefined, type: string) => {
      if (type === '%') return '%';
      if (i >= values.length) throw new TypeError('not enough arguments for format string');
      const v = values[i++];
      let s: string;
      switch (type) {
        case 's':
          s = pyStr(v);
          break;
        case 'r':
          s = pyRepr(v);
          break;
        case 'd':
        case 'i':
          s = String(Math.trunc(Number(v)));
          break;
        case 'f':
        case 'F':
          s = Number(v).toFixed(prec === undefined ? 6 : Number(prec));
          break;
        case 'e':
        case 'E':
          s = pyNumber(Number(Number(v).toExponential(prec === undefined ? 6 : Number(prec))));
          break;
        case 'x':
          s = Math.trunc(Number(v)).toString(16);
          break;
        case 'X':
          s = Math.trunc(Number(v)).toString(16).toUpperCase();
          break;
        default:
          s = Math.trunc(Number(v)).toString(8);
      }
      if (type !== 's' && type !== 'r' && flags.includes('+') && Number(v) >= 0) s = `+${s}`;
      const w = width === undefined ? 0 : Number(width);
      if (s.length < w) {
        if (flags.includes('-')) s = s.padEnd(w);
        else if (flags.includes('0') && type !== 's' && type !== 'r')
          s = s.startsWith('-') || s.startsWith('+') ? s[0] + s.slice(1).padStart(w - 1, '0') : s.padStart(w, '0');
        else s = s.padStart(w);
      }
      return s;
    },
  );
}

function lookupPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    const key = /^\d+$/.test(part) && Array.isArray(cur) ? Number(part) : part;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function toList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (value && typeof value === 'object') return Object.keys(value);
  return [];
}

function dateFilter(fn: (d: Date) => string): (value: unknown) => string | null {
  return (value) => {
    if (value === null || value === undefined) return null;
    const d = templateDateValue(value);
    if (d === null) throw new TypeError(`expected a datetime, got ${pyRepr(value)}`);
    return fn(d);
  };
}

function createEnvironment(): nunjucks.Environment {
  const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
  // Nunjucks only knows lowercase true/false/none; Jinja also accepts Python's spelling.
  env.addGlobal('None', null);
  env.addGlobal('True', true);
  env.addGlobal('False', false);

  env.addFilter('tojson', (value: unknown, ...rest: unknown[]) => {
    const { positional, kw } = splitKw(rest);
    const indentArg = kw.indent ?? positional[0];
    const indent = typeof indentArg === 'number' ? indentArg : null;
    const json = pyJsonDumps(value, indent) ?? 'null';
    // Jinja's htmlsafe_json_dumps: safe to embed in HTML/JS, still valid JSON.
    return json.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/'/g, '\\u0027');
  });
  env.addFilter('items', (value: unknown) => (isPlainObject(value) ? Object.entries(value) : []));
  env.addFilter('map', (value: unknown, ...rest: unknown[]) => {
    const { positional, kw } = splitKw(rest);
    const items = toList(value);
    if (typeof kw.attribute === 'string') {
      const attr = kw.attribute;
      return items.map((x) => {
        const v = lookupPath(x, attr);
        return v === undefined && 'default' in kw ? kw.default : v;
      });
    }
    const [filterName, ...filterArgs] = positional;
    if (typeof filterName !== 'string') throw new TypeError('map: expected a filter name or attribute=');
    const filter = env.getFilter(filterName) as (...a: unknown[]) => unknown;
    return items.map((x) => filter(x, ...filterArgs));
  });
  env.addFilter('unique', (value: unknown, ...rest: unknown[]) => {
    const { positional, kw } = splitKw(rest);
    const caseSensitive = Boolean(kw.case_sensitive ?? positional[0] ?? false);
    const attribute = (kw.attribute ?? positional[1]) as string | undefined;
    const seen = new Set<unknown>();
    return toList(value).filter((x) => {
      let k = attribute ? lookupPath(x, attribute) : x;
      if (!caseSensitive && typeof k === 'string') k = k.toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  });
  const extreme =
    (pickGreater: boolean) =>
    (value: unknown, ...rest: unknown[]): unknown => {
      const { positional, kw } = splitKw(rest);
      const caseSensitive = Boolean(kw.case_sensitive ?? positional[0] ?? false);
      const attribute = (kw.attribute ?? positional[1]) as string | undefined;
      const key = (x: unknown): unknown => {
        const k = attribute ? lookupPath(x, attribute) : x;
        return !caseSensitive && typeof k === 'string' ? k.toLowerCase() : k;
      };
      const items = toList(value);
      if (items.length === 0) return undefined;
      return items.reduce((best, x) => {
        const a = key(x) as number | string;
        const b = key(best) as number | string;
        return (pickGreater ? a > b : a < b) ? x : best;
      });
    };
  env.addFilter('min', extreme(false));
  env.addFilter('max', extreme(true));
  env.addFilter('attr', (value: unknown, name: unknown) => runtime.memberLookup(value, name));
  env.addFilter('count', env.getFilter('length'));
  env.addFilter('format', (value: unknown, ...rest: unknown[]) => percentFormat(String(value), splitKw(rest).positional));
  // Airflow's own additions to the Jinja environment (airflow/templates.py).
  env.addFilter('ds', dateFilter(ds));
  env.addFilter('ds_nodash', dateFilter(dsNodash));
  env.addFilter('ts', dateFilter(isoUtc));
  env.addFilter('ts_nodash', dateFilter(tsNodash));
  env.addFilter('ts_nodash_with_tz', dateFilter(tsNodashWithTz));
  return env;
}

const env = createEnvironment();

// Compiling is the expensive part; the same few templates render for every run.
const COMPILED_CACHE_LIMIT = 1000;
const compiled = new Map<string, nunjucks.Template>();

function compile(source: string): nunjucks.Template {
  let tmpl = compiled.get(source);
  if (tmpl) return tmpl;
  tmpl = new nunjucks.Template(source, env, undefined, true);
  if (compiled.size >= COMPILED_CACHE_LIMIT) {
    const oldest = compiled.keys().next().value;
    if (oldest !== undefined) compiled.delete(oldest);
  }
  compiled.set(source, tmpl);
  return tmpl;
}

/** Turn nunjucks' "(unknown path) [Line 1, Column 5]\n  Error: msg" into "line 1, column 5: msg". */
function cleanNunjucksMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const m = /^\((?:unknown path|[^)]*)\)(?: \[Line (\d+), Column (\d+)\])?\s*\n?\s*([\s\S]*)$/.exec(raw);
  if (!m) return raw;
  let msg = m[3].replace(/^(?:Template render error: )?(?:Error|TypeError|RangeError|Template render error): /, '');
  msg = msg.replace(/^\(unknown path\)\s*/, '');
  return m[1] ? `line ${m[1]}, column ${m[2]}: ${msg}` : msg;
}

/** Render one Jinja template string against a context (see buildTemplateContext). */
export function renderTemplate(template: string, context: Record<string, unknown>): string {
  // Jinja's default keep_trailing_newline=False drops a single trailing newline of the source.
  const source = template.replace(/(?:\r\n|\r|\n)$/, '');
  const state = (patch ??= installRuntimePatch());
  state.depth += 1;
  try {
    return compile(source).render(context);
  } catch (err) {
    throw new Error(cleanNunjucksMessage(err), { cause: err });
  } finally {
    state.depth -= 1;
  }
}

const TEMPLATE_MARKERS = /\{\{|\{%|\{#/;

function childPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const safe = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return base ? `${base}${safe}` : safe.replace(/^\./, '');
}

/**
 * Render every string inside `value` (arrays and plain objects are walked, other values kept as they are).
 * Strings without `{{`, `{%` or `{#` are returned untouched, and rendered output is never rendered
 * again: values that come from conf or XCom are data, not templates.
 */
export function renderTemplateFields<T>(value: T, context: Record<string, unknown>, where: { taskId: string; fieldPath: string }): T {
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      if (!TEMPLATE_MARKERS.test(v)) return v;
      try {
        return renderTemplate(v, context);
      } catch (err) {
        throw new TemplateRenderError(where.taskId, path, v, err);
      }
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, childPath(path, i)));
    // Object.fromEntries defines own properties, so a '__proto__' key in user data stays data.
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, childPath(path, k))]));
    return v;
  };
  return walk(value, where.fieldPath) as T;
}
