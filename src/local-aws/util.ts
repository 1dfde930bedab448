/** Small shared helpers: ids, hashing, pagination tokens, and typed access to parsed JSON requests. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { validationError } from './errors.ts';

export type JsonObject = Record<string, unknown>;

export const newId = (): string => randomUUID();
export const requestId = (): string => randomUUID();
export const md5Hex = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');
export const shortHash = (s: string, len = 8): string => createHash('sha256').update(s).digest('hex').slice(0, len);
export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Opaque pagination tokens: base64url JSON, so clients cannot rely on their shape. */
export function encodeToken(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export function decodeToken<T>(token: string, check: (v: unknown) => v is T, error = () => validationError('Invalid pagination token')): T {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw error();
  }
  if (!check(v)) throw error();
  return v;
}

export function optString(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

export function optNumber(o: JsonObject, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function optBool(o: JsonObject, key: string): boolean | undefined {
  const v = o[key];
  return typeof v === 'boolean' ? v : undefined;
}

export function optObject(o: JsonObject, key: string): JsonObject | undefined {
  const v = o[key];
  return isObject(v) ? v : undefined;
}

export function optArray(o: JsonObject, key: string): unknown[] | undefined {
  const v = o[key];
  return Array.isArray(v) ? v : undefined;
}

export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** AWS JSON timestamps may arrive as epoch seconds (number) or ISO strings; internally we keep epoch millis. */
export function timestampMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v * 1000;
  if (typeof v === 'string') {
    const n = Number(v);
    if (Number.isFinite(n)) return n * 1000;
    const d = Date.parse(v);
    if (Number.isFinite(d)) return d;
  }
  return undefined;
}

export function deepClone<T>(v: T): T {
  return structuredClone(v);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
