/**
 * RFC 7807 problem+json for every error the API returns. The `type` is a stable URI built from the
 * error catalogue's code (src/errors/error-codes.ts), so clients branch on `type`, never on text.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, type ErrorCode } from '../../errors/error-codes.ts';
import { isDeferflowError, errorMessage } from '../../errors/deferflow-error.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { MAX_BODY_BYTES } from './json-body.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
const TYPE_BASE = 'https://deferflow.dev/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** Field-level issues of a 400 (path + message). */
  issues?: ReadonlyArray<{ path: string; message: string }>;
  hint?: string;
}

export function problemFor(code: ErrorCode, detail: string, extra: Partial<Problem> = {}): Problem {
  const entry = ERROR_CATALOGUE[code];
  return { type: TYPE_BASE + code.toLowerCase().replace(/_/g, '-'), title: entry.title, status: entry.status, detail, ...extra };
}

/** Map anything thrown by a route (or by fastify itself) to a problem document. */
export function toProblem(err: unknown, instance?: string): Problem {
  if (isDeferflowError(err)) {
    const issues = err instanceof InvalidInputError ? err.issues : undefined;
    return problemFor(err.code, err.message, { instance, ...(issues?.length ? { issues } : {}), ...(err.hint ? { hint: err.hint } : {}) });
  }
  const fe = err as Partial<FastifyError>;
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 404) return problemFor('NOT_FOUND', errorMessage(err), { instance });
  if (status === 401) return problemFor('UNAUTHORIZED', errorMessage(err), { instance });
  if (status === 413 || fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return problemFor(
      'PAYLOAD_TOO_LARGE',
      `Request body is larger than the limit of ${MAX_BODY_BYTES} bytes (${MAX_BODY_BYTES / 1024 / 1024} MiB); send less`,
      {
        instance,
      },
    );
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return problemFor('UNSUPPORTED_MEDIA_TYPE', `${errorMessage(err)}; send the body as application/json`, { instance });
  }
  if (status >= 400 && status < 500) {
    // fastify's other client errors (empty JSON body with a JSON content type, bad headers…)
    return { ...problemFor('INVALID_INPUT', errorMessage(err), { instance }), status };
  }
  return problemFor('INTERNAL_ERROR', errorMessage(err), { instance });
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** fastify error handler: problem+json everywhere, 5xx logged with the stack. */
export function problemErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = toProblem(err, req.url);
  if (problem.status >= 500) req.log.error({ err }, 'request failed');
  return sendProblem(reply, problem);
}
