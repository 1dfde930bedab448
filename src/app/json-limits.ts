/**
 * Limits on user JSON (API bodies, a run's conf from any front door): how deep it may nest, and
 * keys that could rewrite object prototypes. Checked without recursion, so a 5,000-level value is
 * refused with the path where it went too deep instead of overflowing the stack where it is stored.
 */
import { InvalidInputError } from '../errors/invalid-input-error.ts';

/** Deepest nesting accepted (objects and arrays). */
export const MAX_JSON_DEPTH = 100;

const FORBIDDEN_KEYS = new Set(['__proto__']);

/** Throws INVALID_INPUT naming the path of the first value nested too deep or the first forbidden key. */
export function checkJsonValue(value: unknown, opts: { what: string; maxDepth?: number; root?: string } = { what: 'Value' }): void {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: opts.root ?? '' }];
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (depth >= maxDepth) {
      throw new InvalidInputError(`${opts.what} is nested too deeply`, [
        { path, message: `nests more than ${maxDepth} levels of objects/arrays; flatten it (at most ${maxDepth} levels are accepted)` },
      ]);
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], depth: depth + 1, path: path ? `${path}.${i}` : String(i) });
      continue;
    }
    for (const key of Object.keys(v)) {
      const at = path ? `${path}.${key}` : key;
      const x = (v as Record<string, unknown>)[key];
      if (FORBIDDEN_KEYS.has(key) || (key === 'constructor' && x && typeof x === 'object' && 'prototype' in x)) {
        throw new InvalidInputError(`${opts.what} has a forbidden key`, [
          { path: at, message: `the key '${key}' is not accepted (it could rewrite object prototypes); rename it` },
        ]);
      }
      stack.push({ v: x, depth: depth + 1, path: at });
    }
  }
}
