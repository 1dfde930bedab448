/**
 * Turning user values into the JSON strings the store keeps for opaque payloads (XCom values):
 * Dates become ISO strings (as Airflow's XCom serializer does), Maps become objects, Sets arrays,
 * BigInts strings. Anything that still cannot be serialised fails here, naming what it was.
 */
import { DeferflowError } from '../../errors/deferflow-error.ts';

export function toJsonString(value: unknown, what = 'value'): string {
  try {
    const s = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      return v;
    });
    // JSON.stringify(undefined / a function) gives undefined: store null rather than nothing.
    return s === undefined ? 'null' : s;
  } catch (e) {
    throw new DeferflowError('INVALID_INPUT', `${what} is not JSON-serialisable: ${(e as Error).message}`, { cause: e });
  }
}

export function fromJsonString(s: string | null | undefined): unknown {
  if (s == null) return null;
  return JSON.parse(s) as unknown;
}
