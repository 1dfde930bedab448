/**
 * Zod schemas as fastify route schemas: one declaration gives request validation (with a clear
 * 400 naming every bad field), typed parsed values (coercions and defaults applied) and the
 * OpenAPI document (converted with zod v4's `z.toJSONSchema`). Fastify leaves schema objects with a
 * custom prototype alone, so zod instances pass through its normaliser untouched.
 */
import { z, type ZodType } from 'zod';
import type { FastifySchemaCompiler } from 'fastify';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';

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

/** @fastify/swagger transform: zod → JSON Schema for the OpenAPI document. */
export function zodToOpenApi({ schema, url }: { schema: Record<string, unknown> | undefined; url: string }): { schema: Record<string, unknown>; url: string } {
  if (!schema) return { schema: {}, url };
  const out: Record<string, unknown> = {};
  for (const [part, value] of Object.entries(schema)) {
    if (isZodSchema(value)) {
      const json = z.toJSONSchema(value, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
      delete json.$schema;
      out[part] = json;
    } else {
      out[part] = value;
    }
  }
  return { schema: out, url };
}
