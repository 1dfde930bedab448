/**
 * /api/v1/variables — CRUD in Airflow's shapes (`{key, value, description}`), plus import. The
 * list leaves values out, as Airflow does (they may be secrets): read one variable for its value.
 * Every change is a use-case (src/app/use-cases/variables.ts), audited.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { getVariable, listVariables } from '../../app/queries/variable-queries.ts';
import { deleteVariable, importVariables, setVariable, updateVariable } from '../../app/use-cases/variables.ts';
import type { ApiContext } from '../api-context.ts';
import { apiVariable, apiVariableItem } from '../serializers.ts';
import { csvList, paginationQuery, sortFor } from '../http/pagination.ts';
import { requestBody } from '../schemas/registry.ts';
import { ImportResultSchema, ProblemSchema, VariableCollectionSchema, VariableSchema } from '../schemas/resources.ts';
import { noContent } from './responses.ts';

const KEY_RE = /^[A-Za-z0-9_.-]{1,250}$/;
const KEY_RULE = "use 1-250 letters, digits, '_', '.' or '-'";
const KeyParams = z.object({ variable_key: z.string().min(1) });
const Body = requestBody(
  'VariableInput',
  z.object({ key: z.string().regex(KEY_RE, KEY_RULE), value: z.string(), description: z.string().nullish() }).strict(),
  'A variable to create or replace',
);
const PatchBody = requestBody(
  'VariablePatch',
  z.object({ key: z.string().optional(), value: z.string().optional(), description: z.string().nullish() }).strict(),
  'Fields of a variable to change (update_mask narrows them)',
);
const ImportBody = requestBody(
  'VariablesImport',
  z
    .object({
      variables: z
        .union([
          z.record(z.string().regex(KEY_RE, KEY_RULE), z.unknown()),
          z.array(z.object({ key: z.string().regex(KEY_RE, KEY_RULE), value: z.unknown(), description: z.string().nullish() }).strict()),
        ])
        .describe('Airflow’s `variables export` file ({key: value}) or a list of {key, value, description}; non-string values are stored as JSON'),
      skip_existing: z.boolean().default(false).describe('Leave variables that already exist alone (default: overwrite them)'),
    })
    .strict(),
);
const errors = { default: ProblemSchema };

export function variableRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/variables',
    {
      schema: {
        querystring: z.object(paginationQuery),
        tags: ['Variable'],
        summary: 'List variables (keys and descriptions; values are left out, as in Airflow)',
        response: { 200: VariableCollectionSchema, ...errors },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; offset: number; order_by?: string };
      const sort = sortFor(q.order_by, { key: '_id', description: 'description' }, 'key');
      const page = await listVariables(ctx.store, { sort, offset: q.offset, limit: q.limit });
      return { variables: page.items.map(apiVariableItem), total_entries: page.total };
    },
  );

  app.get(
    '/api/v1/variables/:variable_key',
    { schema: { params: KeyParams, tags: ['Variable'], summary: 'Get a variable with its value', response: { 200: VariableSchema, ...errors } } },
    async (req) => {
      const { variable_key } = req.params as z.infer<typeof KeyParams>;
      const doc = await getVariable(ctx.store, variable_key);
      if (!doc) throw new NotFoundError('VARIABLE_NOT_FOUND', `Variable does not exist: '${variable_key}'`);
      return apiVariable(doc);
    },
  );

  app.post(
    '/api/v1/variables',
    { schema: { body: Body, tags: ['Variable'], summary: 'Create or replace a variable', response: { 200: VariableSchema, ...errors } } },
    async (req) => {
      const b = req.body as z.infer<typeof Body>;
      return apiVariable((await setVariable(ctx.appFor(req), b.key, b.value, b.description ?? null)).variable);
    },
  );

  app.post(
    '/api/v1/variables/import',
    {
      schema: {
        body: ImportBody,
        tags: ['Variable'],
        summary: 'Import variables (deferflow; what the UI’s import sends)',
        response: { 200: ImportResultSchema, ...errors },
      },
    },
    async (req) => {
      const b = req.body as z.infer<typeof ImportBody>;
      const list = Array.isArray(b.variables)
        ? b.variables.map((v) => ({ key: v.key, value: v.value, description: v.description ?? null }))
        : Object.entries(b.variables).map(([key, value]) => ({ key, value, description: null }));
      const entries = list.map((v) => ({ ...v, value: typeof v.value === 'string' ? v.value : JSON.stringify(v.value) }));
      return importVariables(ctx.appFor(req), entries, { skipExisting: b.skip_existing });
    },
  );

  app.patch(
    '/api/v1/variables/:variable_key',
    {
      schema: {
        params: KeyParams,
        querystring: z.object({ update_mask: csvList }),
        body: PatchBody,
        tags: ['Variable'],
        summary: 'Update a variable',
        response: { 200: VariableSchema, ...errors },
      },
    },
    async (req) => {
      const { variable_key } = req.params as z.infer<typeof KeyParams>;
      const { update_mask } = req.query as { update_mask?: string[] };
      const b = req.body as z.infer<typeof PatchBody>;
      if (b.key !== undefined && b.key !== variable_key)
        throw new InvalidInputError('Invalid request body', [{ path: 'key', message: `must match the path ('${variable_key}'); renaming is not supported` }]);
      const fields = update_mask?.length ? update_mask : ['value', 'description'];
      const doc = await updateVariable(ctx.appFor(req), variable_key, {
        value: fields.includes('value') ? b.value : undefined,
        description: fields.includes('description') ? b.description : undefined,
      });
      if (!doc) throw new NotFoundError('VARIABLE_NOT_FOUND', `Variable does not exist: '${variable_key}'`);
      return apiVariable(doc);
    },
  );

  app.delete(
    '/api/v1/variables/:variable_key',
    { schema: { params: KeyParams, tags: ['Variable'], summary: 'Delete a variable', response: { 204: noContent('Deleted'), ...errors } } },
    async (req, reply) => {
      const { variable_key } = req.params as z.infer<typeof KeyParams>;
      if (!(await deleteVariable(ctx.appFor(req), variable_key))) throw new NotFoundError('VARIABLE_NOT_FOUND', `Variable does not exist: '${variable_key}'`);
      return reply.code(204).send();
    },
  );
}
