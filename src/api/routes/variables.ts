/** /api/v1/variables — CRUD, Airflow's shapes (`{key, value, description}`). */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { getVariable, listVariables } from '../../app/queries/variable-queries.ts';
import { VariableRepository } from '../../store/repositories/variable-repository.ts';
import type { ApiContext } from '../api-context.ts';
import { apiVariable } from '../serializers.ts';
import { csvList, paginationQuery, sortFor } from '../http/pagination.ts';

const KEY_RE = /^[A-Za-z0-9_.-]{1,250}$/;
const KeyParams = z.object({ variable_key: z.string().min(1) });
const Body = z
  .object({ key: z.string().regex(KEY_RE, "use 1-250 letters, digits, '_', '.' or '-'"), value: z.string(), description: z.string().nullish() })
  .strict();
const PatchBody = z.object({ key: z.string().optional(), value: z.string().optional(), description: z.string().nullish() }).strict();

export function variableRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const repo = new VariableRepository(ctx.store);

  app.get('/api/v1/variables', { schema: { querystring: z.object(paginationQuery), tags: ['Variable'], summary: 'List variables' } }, async (req) => {
    const q = req.query as { limit: number; offset: number; order_by?: string };
    const sort = sortFor(q.order_by, { key: '_id', description: 'description' }, 'key');
    const page = await listVariables(ctx.store, { sort, offset: q.offset, limit: q.limit });
    return { variables: page.items.map(apiVariable), total_entries: page.total };
  });

  app.get('/api/v1/variables/:variable_key', { schema: { params: KeyParams, tags: ['Variable'], summary: 'Get a variable' } }, async (req) => {
    const { variable_key } = req.params as z.infer<typeof KeyParams>;
    const doc = await getVariable(ctx.store, variable_key);
    if (!doc) throw new NotFoundError('VARIABLE_NOT_FOUND', `Variable does not exist: '${variable_key}'`);
    return apiVariable(doc);
  });

  app.post('/api/v1/variables', { schema: { body: Body, tags: ['Variable'], summary: 'Create or replace a variable' } }, async (req) => {
    const b = req.body as z.infer<typeof Body>;
    return apiVariable(await repo.set(b.key, b.value, b.description ?? null));
  });

  app.patch(
    '/api/v1/variables/:variable_key',
    { schema: { params: KeyParams, querystring: z.object({ update_mask: csvList }), body: PatchBody, tags: ['Variable'], summary: 'Update a variable' } },
    async (req) => {
      const { variable_key } = req.params as z.infer<typeof KeyParams>;
      const { update_mask } = req.query as { update_mask?: string[] };
      const b = req.body as z.infer<typeof PatchBody>;
      if (b.key !== undefined && b.key !== variable_key)
        throw new InvalidInputError('Invalid request body', [{ path: 'key', message: `must match the path ('${variable_key}'); renaming is not supported` }]);
      const fields = update_mask?.length ? update_mask : ['value', 'description'];
      const doc = await repo.update(variable_key, {
        value: fields.includes('value') ? b.value : undefined,
        description: fields.includes('description') ? b.description : undefined,
      });
      if (!doc) throw new NotFoundError('VARIABLE_NOT_FOUND', `Variable does not exist: '${variable_key}'`);
      return apiVariable(doc);
    },
  );

  app.delete('/api/v1/variables/:variable_key', { schema: { params: KeyParams, tags: ['Variable'], summary: 'Delete a variable' } }, async (req, reply) => {
    const { variable_key } = req.params as z.infer<typeof KeyParams>;
    if (!(await repo.delete(variable_key))) throw new NotFoundError('VARIABLE_NOT_FOUND', `Variable does not exist: '${variable_key}'`);
    return reply.code(204).send();
  });
}
