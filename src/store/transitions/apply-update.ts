/**
 * The document a guarded update leaves behind, computed here instead of read back: a batched
 * write (bulkWrite) answers only how many rows matched, so when every row of a batch matched and
 * each row's guard named the version it was read at, the after-image is the row as read plus the
 * update. Covers the operators the plans use ($set, $inc, $unset, $push with or without
 * $each/$slice) on top-level fields; anything else answers null and the caller reads the row.
 */
import type { Document } from 'mongodb';

export function applyUpdate<T extends Document>(doc: T, update: Document): T | null {
  const out: Record<string, unknown> = { ...doc };
  for (const [op, fields] of Object.entries(update)) {
    if (!fields || typeof fields !== 'object') return null;
    for (const [key, value] of Object.entries(fields as Record<string, unknown>)) {
      if (key.includes('.') || key.startsWith('$')) return null;
      switch (op) {
        case '$set':
          out[key] = value;
          break;
        case '$unset':
          delete out[key];
          break;
        case '$inc': {
          const cur = out[key] ?? 0;
          if (typeof cur !== 'number' || typeof value !== 'number') return null;
          out[key] = cur + value;
          break;
        }
        case '$push': {
          const cur = out[key] ?? [];
          if (!Array.isArray(cur)) return null;
          const spec = value && typeof value === 'object' && '$each' in value ? (value as { $each: unknown; $slice?: unknown }) : null;
          if (spec && (!Array.isArray(spec.$each) || Object.keys(spec).some((k) => k !== '$each' && k !== '$slice'))) return null;
          let next = spec ? [...cur, ...(spec.$each as unknown[])] : [...cur, value];
          if (spec?.$slice !== undefined) {
            const n = spec.$slice;
            if (typeof n !== 'number' || !Number.isInteger(n)) return null;
            next = n >= 0 ? next.slice(0, n) : next.slice(n);
          }
          out[key] = next;
          break;
        }
        default:
          return null;
      }
    }
  }
  return out as T;
}
