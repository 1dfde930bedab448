/**
 * Zod schemas as fastify route schemas: one declaration gives request validation (with a clear
 * 400 naming every bad field), typed parsed values (coercions and defaults applied), the response
 * documentation and the OpenAPI document (zod v4's `z.toJSONSchema`, components by reference —
 * schemas/registry.ts). Fastify leaves schema objects with a custom prototype alone, so zod
 * instances pass through its normaliser untouched.
 *
 * Responses are serialized with JSON.stringify; with `validateResponses` (tests) each one is first
 * checked against its documented schema, so the document cannot claim what the server does not send.
 */
import type { z, ZodType } from 'zod';
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { apiComponents, partSchema } from '../schemas/registry.ts';

const WHERE: Record<string, string> = { querystring: 'query parameter', body: 'request body', params: 'path parameter', headers: 'header' };

export function isZodSchema(s: unknown): s is ZodType {
  return typeof s === 'object' && s !== null && typeof (s as { safeParse?: unknown }).safeParse === 'function';
}

export function issuesOf(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

export const zodValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (!isZodSchema(schema)) return () => ({ value: undefined });
  return (data: unknown) => {
    const r = schema.safeParse(data ?? (httpPart === 'body' ? undefined : {}));
    if (r.success) return { value: r.data };
    return { error: new InvalidInputError(`Invalid ${WHERE[httpPart ?? ''] ?? httpPart ?? 'input'}`, issuesOf(r.error)) };
  };
};

export function zodSerializerCompiler(validate: boolean): FastifySerializerCompiler<unknown> {
  return ({ schema, url, method, httpStatus }) => {
    if (!validate || !isZodSchema(schema)) return (data) => JSON.stringify(data);
    return (data) => {
      const r = schema.safeParse(data);
      if (!r.success) {
        throw new DeferflowError(
          'CONFIG_ERROR',
          `${method} ${url} answered ${httpStatus} with a body that does not match its documented schema: ${issuesOf(r.error)
            .map((i) => `${i.path}: ${i.message}`)
            .join('; ')}`,
        );
      }
      return JSON.stringify(data);
    };
  };
}

/** @fastify/swagger transform: zod → JSON Schema for the OpenAPI document (components by reference). */
export function zodToOpenApi({ schema, url }: { schema: Record<string, unknown> | undefined; url: string }): { schema: Record<string, unknown>; url: string } {
  if (!schema) return { schema: {}, url };
  const out: Record<string, unknown> = {};
  for (const [part, value] of Object.entries(schema)) {
    if (part === 'response' && value && typeof value === 'object') {
      const responses: Record<string, unknown> = {};
      for (const [code, r] of Object.entries(value as Record<string, unknown>)) responses[code] = isZodSchema(r) ? responseSchema(r, code) : r;
      out[part] = responses;
    } else if (isZodSchema(value)) {
      out[part] = partSchema(value, 'input', part === 'body');
    } else {
      out[part] = value;
    }
  }
  return { schema: out, url };
}

function responseSchema(s: ZodType, code: string): Record<string, unknown> {
  const json = partSchema(s, 'output', true);
  const description =
    code === 'default' ? 'Error: an RFC 7807 problem document saying what to fix' : (s.description ?? apiComponents.get(s)?.description ?? 'Success');
  return { description, ...json };
}
