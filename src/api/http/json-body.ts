/**
 * The API's JSON body parser: plain JSON.parse, then checks that name what to fix instead of a
 * generic "not valid JSON" or a 500 further in — a key that could rewrite an object's prototype
 * (`__proto__`, `constructor.prototype`) is refused with its path, nesting deeper than
 * MAX_BODY_DEPTH levels is refused (a 5,000-level `conf` used to overflow the stack when stored),
 * and a body over the size limit is a 413 that says the limit (problem.ts).
 */
import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { checkJsonValue, MAX_JSON_DEPTH } from '../../app/json-limits.ts';

/** Deepest nesting accepted in a request body (objects and arrays). */
export const MAX_BODY_DEPTH = MAX_JSON_DEPTH;
/** Largest request body accepted (fastify's bodyLimit). */
export const MAX_BODY_BYTES = 1024 * 1024;

function syntaxIssue(e: unknown): InvalidInputError {
  const message = e instanceof Error ? e.message : String(e);
  return new InvalidInputError('Request body is not valid JSON', [{ path: '', message }]);
}

/** Depth and forbidden keys of a parsed body, with the path of the first bad one. */
export function checkJsonBody(value: unknown, maxDepth = MAX_BODY_DEPTH): void {
  checkJsonValue(value, { what: 'Request body', maxDepth });
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
