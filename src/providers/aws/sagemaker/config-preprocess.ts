/**
 * After templates render, every value of a config may be a string ("{{ params.instances }}" → "2").
 * Airflow casts its `integer_fields` back to int (parse_integer); SageMaker also requires
 * HyperParameters to be a map of strings, so numbers/booleans there become strings.
 */
import { InvalidInputError } from '../../../errors/invalid-input-error.ts';

export type FieldPath = readonly string[];

/** Deep copy through JSON-compatible values (configs are JSON by nature); Dates kept. */
export function cloneConfig<T>(v: T): T {
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (Array.isArray(v)) return v.map(cloneConfig) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = cloneConfig(x);
    return out as T;
  }
  return v;
}

/** Airflow's parse_integer: follows the path through objects and lists; missing keys are skipped. */
export function parseIntegerField(config: unknown, path: FieldPath, where: string[] = []): void {
  if (Array.isArray(config)) {
    config.forEach((c, i) => {
      parseIntegerField(c, path, [...where, String(i)]);
    });
    return;
  }
  if (!config || typeof config !== 'object' || path.length === 0) return;
  const obj = config as Record<string, unknown>;
  const [head, ...tail] = path;
  if (!(head in obj)) return;
  if (tail.length > 0) {
    parseIntegerField(obj[head], tail, [...where, head]);
    return;
  }
  const v = obj[head];
  if (typeof v === 'number' && Number.isInteger(v)) return;
  const n = typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : typeof v === 'number' ? Math.trunc(v) : NaN;
  if (!Number.isFinite(n)) {
    throw new InvalidInputError(`config.${[...where, head].join('.')} must be an integer, got ${JSON.stringify(v)}`);
  }
  obj[head] = n;
}

export function parseIntegerFields(config: Record<string, unknown>, fields: readonly FieldPath[]): void {
  for (const f of fields) parseIntegerField(config, f);
}

/** HyperParameters (at `path`) as a string map, as SageMaker requires. */
export function stringifyHyperParameters(config: Record<string, unknown>, path: FieldPath): void {
  let cur: unknown = config;
  for (const p of path.slice(0, -1)) {
    if (!cur || typeof cur !== 'object') return;
    cur = (cur as Record<string, unknown>)[p];
  }
  if (!cur || typeof cur !== 'object') return;
  const holder = cur as Record<string, unknown>;
  const key = path[path.length - 1];
  const hp = holder[key];
  if (!hp || typeof hp !== 'object' || Array.isArray(hp)) return;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(hp as Record<string, unknown>)) {
    out[k] = typeof v === 'string' ? v : v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  holder[key] = out;
}
