/**
 * The API's JSON body parser: plain JSON.parse, then checks that name what to fix instead of a
 * generic "not valid JSON" or a 500 further in — a key that could rewrite an object's prototype
 * (`__proto__`, `constructor.prototype`) is refused with its path, nesting deeper than
 * MAX_BODY_DEPTH levels is refused (a 5,000-level `conf` used to overflow the stack when stored),
 * and a body over the size limit is a 413 that says the limit (problem.ts).
 */
import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';

/** Deepest nesting accepted in a request body (objects and arrays). */
export const MAX_BODY_DEPTH = 100;
/** Largest request body accepted (fastify's bodyLimit). */
export const MAX_BODY_BYTES = 1024 * 1024;

const FORBIDDEN_KEYS = new Set(['__proto__']);

function syntaxIssue(e: unknown): InvalidInputError {
  const message = e instanceof Error ? e.message : String(e);
  return new InvalidInputError('Request body is not valid JSON', [{ path: '', message }]);
}

/** Walk the parsed value without recursion: depth and forbidden keys, with the path of the first bad one. */
export function checkJsonBody(value: unknown, maxDepth = MAX_BODY_DEPTH): void {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: '' }];
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (depth >= maxDepth) {
      throw new InvalidInputError('Request body is nested too deeply', [
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
        throw new InvalidInputError('Request body has a forbidden key', [
          { path: at, message: `the key '${key}' is not accepted (it could rewrite object prototypes); rename it` },
        ]);
      }
      stack.push({ v: x, depth: depth + 1, path: at });
    }
  }
}

export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return done(syntaxIssue(e), undefined);
    }
    try {
      checkJsonBody(parsed);
    } catch (e) {
      return done(e as Error, undefined);
    }
    done(null, parsed);
  });
}
