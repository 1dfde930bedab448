/**
 * Amazon EventBridge event-pattern matching, as a standalone pure module. It lives in `events/`
 * because both sides of an event need it: the EventPatternTrigger (production) matches incoming
 * events with it, and the local EventBridge (emulator) routes with it — the emulator imports it
 * from here, never the other way round. It depends on nothing.
 *
 * Semantics follow EventBridge's documented behaviour:
 * - a pattern is a JSON object; object values nest, array values are leaf
 *   matchers OR'ed together; all keys of an object must match (AND);
 * - arrays in the event are flattened: a leaf matches if any element matches,
 *   and a nested pattern is matched against the union of the array elements'
 *   fields (the same cross-element behaviour EventBridge has);
 * - matchers: exact string/number/boolean/null (numbers compare numerically,
 *   "300" never equals 300), prefix, suffix (both with optional
 *   equals-ignore-case), equals-ignore-case, anything-but (value, list,
 *   prefix, suffix, equals-ignore-case, wildcard), numeric ranges, exists,
 *   cidr, wildcard, and `$or` between sub-patterns;
 * - `exists` only looks at leaf values; a missing field only ever matches
 *   `{"exists": false}`.
 * Patterns are compiled once into closures and cached, so matching an event is
 * a walk over the pattern's own keys, never over the whole event.
 */

export type PatternValidation = { valid: true } | { valid: false; reason: string };

export class InvalidEventPatternError extends Error {
  constructor(reason: string) {
    super(`Event pattern is not valid. Reason: ${reason}`);
    this.name = 'InvalidEventPatternException';
  }
}

export type CompiledEventPattern = (event: unknown) => boolean;

type Obj = Record<string, unknown>;
type ValueTest = (v: unknown) => boolean;

interface LeafNode {
  kind: 'leaf';
  tests: ValueTest[];
  /** exists:true / exists:false matchers (only count leaf values). */
  existsTrue: boolean;
  existsFalse: boolean;
}

interface ObjectNode {
  kind: 'object';
  fields: Array<{ key: string; node: ObjectNode | LeafNode }>;
  ors: ObjectNode[][];
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const MATCHER_KEYS = new Set(['prefix', 'suffix', 'anything-but', 'numeric', 'exists', 'cidr', 'equals-ignore-case', 'wildcard']);

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

function parsePattern(pattern: unknown): Obj {
  let p = pattern;
  if (typeof p === 'string') {
    try {
      p = JSON.parse(p);
    } catch (e) {
      fail(`Filter is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isObj(p)) fail('Filter is not an object');
  return p;
}

// ---------------------------------------------------------------- compiling

function compileObject(o: Obj, path: string): ObjectNode {
  const keys = Object.keys(o);
  if (keys.length === 0) fail(`Empty objects are not allowed${path ? ` at "${path}"` : ''}`);
  const node: ObjectNode = { kind: 'object', fields: [], ors: [] };
  for (const key of keys) {
    const v = o[key];
    const here = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(v) || v.length < 2) fail(`"$or" at "${path || '(root)'}" must be an array of at least two sub-patterns`);
      node.ors.push(
        v.map((alt, i) => {
          if (!isObj(alt)) fail(`"$or" alternative ${i} at "${path || '(root)'}" must be an object`);
          return compileObject(alt, path);
        }),
      );
    } else if (Array.isArray(v)) {
      node.fields.push({ key, node: compileLeaf(v, here) });
    } else if (isObj(v)) {
      node.fields.push({ key, node: compileObject(v, here) });
    } else {
      fail(`Match value at "${here}" must be an array or an object, got ${JSON.stringify(v)}`);
    }
  }
  return node;
}

function compileLeaf(arr: unknown[], path: string): LeafNode {
  if (arr.length === 0) fail(`Empty arrays are not allowed at "${path}"`);
  const leaf: LeafNode = { kind: 'leaf', tests: [], existsTrue: false, existsFalse: false };
  for (const m of arr) {
    if (m === null || typeof m === 'string' || typeof m === 'boolean') {
      leaf.tests.push((v) => v === m);
    } else if (typeof m === 'number') {
      if (!Number.isFinite(m)) fail(`Invalid number at "${path}"`);
      leaf.tests.push((v) => typeof v === 'number' && v === m);
    } else if (Array.isArray(m)) {
      fail(`Match value must be String, number, true, false, or null at "${path}" (nested arrays are not allowed)`);
    } else if (isObj(m)) {
      const ks = Object.keys(m);
      if (ks.length !== 1 || !MATCHER_KEYS.has(ks[0])) {
        fail(`Unrecognized match type ${ks.map((k) => JSON.stringify(k)).join(', ') || '{}'} at "${path}"`);
      }
      const k = ks[0];
      const arg = m[k];
      if (k === 'exists') {
        if (typeof arg !== 'boolean') fail(`exists match pattern must be either true or false at "${path}"`);
        if (arg) leaf.existsTrue = true;
        else leaf.existsFalse = true;
      } else {
        leaf.tests.push(compileMatcher(k, arg, path));
      }
    } else {
      fail(`Match value must be String, number, true, false, or null at "${path}"`);
    }
  }
  return leaf;
}

function stringOrIgnoreCase(kind: string, arg: unknown, path: string): { s: string; ic: boolean } {
  if (typeof arg === 'string') return { s: arg, ic: false };
  if (isObj(arg) && Object.keys(arg).length === 1 && typeof arg['equals-ignore-case'] === 'string') {
    return { s: arg['equals-ignore-case'] as string, ic: true };
  }
  fail(`${kind} match pattern must be a string (or {"equals-ignore-case": string}) at "${path}"`);
}

function stringList(kind: string, arg: unknown, path: string): string[] {
  const list = Array.isArray(arg) ? arg : [arg];
  if (list.length === 0 || !list.every((x) => typeof x === 'string')) fail(`${kind} must be a string or a non-empty array of strings at "${path}"`);
  return list as string[];
}

function compileMatcher(kind: string, arg: unknown, path: string): ValueTest {
  switch (kind) {
    case 'prefix': {
      const { s, ic } = stringOrIgnoreCase('prefix', arg, path);
      if (ic) {
        const low = s.toLowerCase();
        return (v) => typeof v === 'string' && v.toLowerCase().startsWith(low);
      }
      return (v) => typeof v === 'string' && v.startsWith(s);
    }
    case 'suffix': {
      const { s, ic } = stringOrIgnoreCase('suffix', arg, path);
      if (ic) {
        const low = s.toLowerCase();
        return (v) => typeof v === 'string' && v.toLowerCase().endsWith(low);
      }
      return (v) => typeof v === 'string' && v.endsWith(s);
    }
    case 'equals-ignore-case': {
      if (typeof arg !== 'string') fail(`equals-ignore-case match pattern must be a string at "${path}"`);
      const low = arg.toLowerCase();
      return (v) => typeof v === 'string' && v.toLowerCase() === low;
    }
    case 'wildcard': {
      if (typeof arg !== 'string') fail(`wildcard match pattern must be a string at "${path}"`);
      const re = wildcardRegex(arg, path);
      return (v) => typeof v === 'string' && re.test(v);
    }
    case 'numeric':
      return compileNumeric(arg, path);
    case 'cidr':
      return compileCidr(arg, path);
    case 'anything-but':
      return compileAnythingBut(arg, path);
  }
  fail(`Unrecognized match type "${kind}" at "${path}"`);
}

function wildcardRegex(p: string, path: string): RegExp {
  if (p.includes('**')) fail(`Consecutive wildcard characters at pos ${p.indexOf('**') + 1} are not allowed at "${path}"`);
  let src = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\' && (p[i + 1] === '*' || p[i + 1] === '\\')) {
      src += `\\${p[i + 1]}`;
      i++;
    } else if (c === '*') src += '.*';
    else src += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 's');
}

function compileNumeric(arg: unknown, path: string): ValueTest {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) fail(`Value of numeric must be an array of one or two operator/number pairs at "${path}"`);
  const conds: Array<(n: number) => boolean> = [];
  let lower = false;
  let upper = false;
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (typeof n !== 'number' || !Number.isFinite(n)) fail(`Value of ${String(op)} must be a number at "${path}"`);
    switch (op) {
      case '=':
        if (arg.length !== 2) fail(`"=" cannot be combined with other numeric operators at "${path}"`);
        conds.push((x) => x === n);
        break;
      case '>':
      case '>=':
        if (lower) fail(`Bad numeric range: two lower bounds at "${path}"`);
        lower = true;
        conds.push(op === '>' ? (x) => x > n : (x) => x >= n);
        break;
      case '<':
      case '<=':
        if (upper) fail(`Bad numeric range: two upper bounds at "${path}"`);
        upper = true;
        conds.push(op === '<' ? (x) => x < n : (x) => x <= n);
        break;
      default:
        fail(`Unrecognized numeric range operator: ${JSON.stringify(op)} at "${path}"`);
    }
  }
  return (v) => typeof v === 'number' && conds.every((c) => c(v));
}

function parseIpv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const x = Number(p);
    if (x > 255) return null;
    n = n * 256 + x;
  }
  return n;
}

function parseIpv6(s: string): bigint | null {
  if (!/^[0-9a-fA-F:]+$/.test(s) || s.split('::').length > 2) return null;
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const missing = 8 - h.length - t.length;
  if ((tail === undefined && missing !== 0) || missing < 0) return null;
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...t];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

function compileCidr(arg: unknown, path: string): ValueTest {
  if (typeof arg !== 'string') fail(`cidr match pattern must be a string at "${path}"`);
  const [ip, bitsStr] = arg.split('/');
  const bits = Number(bitsStr);
  const v4 = parseIpv4(ip);
  if (v4 !== null && Number.isInteger(bits) && bits >= 0 && bits <= 32) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const net = (v4 & mask) >>> 0;
    return (v) => {
      if (typeof v !== 'string') return false;
      const x = parseIpv4(v);
      return x !== null && (x & mask) >>> 0 === net;
    };
  }
  const v6 = parseIpv6(ip);
  if (v6 !== null && Number.isInteger(bits) && bits >= 0 && bits <= 128) {
    const shift = BigInt(128 - bits);
    const net = v6 >> shift;
    return (v) => {
      if (typeof v !== 'string') return false;
      const x = parseIpv6(v);
      return x !== null && x >> shift === net;
    };
  }
  fail(`Malformed CIDR, one '/' required at "${path}"`);
}

function compileAnythingBut(arg: unknown, path: string): ValueTest {
  if (typeof arg === 'string' || (typeof arg === 'number' && Number.isFinite(arg))) {
    return (v) => v !== arg;
  }
  if (Array.isArray(arg)) {
    if (arg.length === 0) fail(`Inside anything but list, empty arrays are not allowed at "${path}"`);
    const allStrings = arg.every((x) => typeof x === 'string');
    const allNumbers = arg.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!allStrings && !allNumbers) fail(`Inside anything but list, start|null|boolean is not supported; use all strings or all numbers at "${path}"`);
    const set = new Set<unknown>(arg);
    return (v) => !set.has(v);
  }
  if (isObj(arg)) {
    const ks = Object.keys(arg);
    if (ks.length !== 1) fail(`anything-but object must have exactly one of prefix, suffix, equals-ignore-case, wildcard at "${path}"`);
    const k = ks[0];
    const inner = arg[k];
    if (k === 'prefix' || k === 'suffix') {
      if (typeof inner !== 'string') fail(`anything-but ${k} must be a string at "${path}"`);
      const test = k === 'prefix' ? (s: string) => s.startsWith(inner) : (s: string) => s.endsWith(inner);
      return (v) => typeof v === 'string' && !test(v);
    }
    if (k === 'equals-ignore-case') {
      const lows = new Set(stringList('anything-but equals-ignore-case', inner, path).map((s) => s.toLowerCase()));
      return (v) => typeof v === 'string' && !lows.has(v.toLowerCase());
    }
    if (k === 'wildcard') {
      const res = stringList('anything-but wildcard', inner, path).map((s) => wildcardRegex(s, path));
      return (v) => typeof v === 'string' && !res.some((re) => re.test(v));
    }
    fail(`Unsupported anything-but pattern "${k}" at "${path}"`);
  }
  fail(`Value of anything-but must be an array, a string, a number, or an object at "${path}"`);
}

// ---------------------------------------------------------------- matching

/** Values of `key` across all candidate objects, with arrays flattened (EventBridge's array semantics). */
function collect(candidates: unknown[], key: string, out: unknown[]): unknown[] {
  for (const c of candidates) {
    if (isObj(c) && Object.hasOwn(c, key)) flatten(c[key], out);
  }
  return out;
}

function flatten(v: unknown, out: unknown[]): void {
  if (Array.isArray(v)) for (const x of v) flatten(x, out);
  else out.push(v);
}

function matchObject(node: ObjectNode, candidates: unknown[]): boolean {
  for (const f of node.fields) {
    const vals = collect(candidates, f.key, []);
    if (f.node.kind === 'object') {
      if (!matchObject(f.node, vals)) return false;
    } else if (!matchLeaf(f.node, vals)) return false;
  }
  for (const group of node.ors) {
    if (!group.some((alt) => matchObject(alt, candidates))) return false;
  }
  return true;
}

function matchLeaf(leaf: LeafNode, vals: unknown[]): boolean {
  let leafCount = 0;
  for (const v of vals) {
    if (isObj(v)) continue; // exists/values only consider leaf nodes
    leafCount++;
    for (const t of leaf.tests) if (t(v)) return true;
  }
  if (leaf.existsTrue && leafCount > 0) return true;
  if (leaf.existsFalse && leafCount === 0) return true;
  return false;
}

// ---------------------------------------------------------------- public API

const byObject = new WeakMap<object, CompiledEventPattern>();
const byString = new Map<string, CompiledEventPattern>();
const STRING_CACHE_MAX = 2048;

/** Compiles a pattern (object or JSON string) into a matcher; throws InvalidEventPatternError. */
export function compileEventPattern(pattern: unknown): CompiledEventPattern {
  const root = compileObject(parsePattern(pattern), '');
  return (event: unknown) => matchObject(root, [event]);
}

function cached(pattern: unknown): CompiledEventPattern {
  if (typeof pattern === 'string') {
    let c = byString.get(pattern);
    if (!c) {
      c = compileEventPattern(pattern);
      if (byString.size >= STRING_CACHE_MAX) byString.delete(byString.keys().next().value as string);
      byString.set(pattern, c);
    }
    return c;
  }
  if (typeof pattern === 'object' && pattern !== null) {
    let c = byObject.get(pattern);
    if (!c) {
      c = compileEventPattern(pattern);
      byObject.set(pattern, c);
    }
    return c;
  }
  return compileEventPattern(pattern);
}

/**
 * True when `event` matches `pattern` (an object or its JSON string). Compiled
 * patterns are cached by identity / string, so calling this in a loop is cheap.
 * Throws InvalidEventPatternError for an invalid pattern.
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  return cached(pattern)(event);
}

/** Checks a pattern without throwing; `reason` reads like EventBridge's InvalidEventPatternException. */
export function validateEventPattern(pattern: unknown): PatternValidation {
  try {
    compileEventPattern(pattern);
    return { valid: true };
  } catch (e) {
    if (e instanceof InvalidEventPatternError) return { valid: false, reason: e.message.replace(/^Event pattern is not valid\. Reason: /, '') };
    throw e;
  }
}

export function assertValidEventPattern(pattern: unknown): void {
  compileEventPattern(pattern);
}
