/**
 * /api/v1/connections — CRUD through ConnectionRepository (secrets encrypted at rest). Responses
 * NEVER carry the password (the field is absent, as in Airflow) and extra values under sensitive
 * keys are masked `***`; `has_password` tells the UI whether one is set.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Connection, ConnectionInput } from '../../connections/connection.ts';
import { maskConnection, type ConnectionRepository } from '../../connections/connection-repository.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { paginationQuery, sortFor, csvList } from '../http/pagination.ts';
import { pageConnectionIds } from '../../app/queries/connection-queries.ts';
import type { ApiContext } from '../api-context.ts';

const IdParams = z.object({ connection_id: z.string().min(1) });
const Fields = {
  conn_type: z.string().min(1),
  description: z.string().nullish(),
  host: z.string().nullish(),
  login: z.string().nullish(),
  schema: z.string().nullish(),
  port: z.number().int().min(0).max(65535).nullish(),
  password: z.string().nullish(),
  extra: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
};
const CreateBody = z.object({ connection_id: z.string().min(1), ...Fields }).strict();
const PatchBody = z.object({ connection_id: z.string().min(1).optional(), ...Fields, conn_type: Fields.conn_type.optional() }).strict();

export interface ApiConnection {
  connection_id: string;
  conn_type: string;
  description: string | null;
  host: string | null;
  login: string | null;
  schema: string | null;
  port: number | null;
  extra: string | null;
  has_password: boolean;
}

function apiConnection(c: Connection): ApiConnection {
  const masked = maskConnection(c);
  return {
    connection_id: c.conn_id,
    conn_type: c.conn_type,
    description: c.description,
    host: c.host,
    login: c.login,
    schema: c.schema,
    port: c.port,
    extra: masked.extra,
    has_password: c.password !== null,
  };
}

export function connectionRoutes(app: FastifyInstance, ctx: ApiContext, repo: () => ConnectionRepository): void {
  app.get(
    '/api/v1/connections',
    { schema: { querystring: z.object(paginationQuery), tags: ['Connection'], summary: 'List connections (secrets never returned)' } },
    async (req) => {
      const q = req.query as { limit: number; offset: number; order_by?: string };
      const sort = sortFor(q.order_by, { connection_id: '_id', conn_type: 'conn_type' }, 'connection_id');
      const { ids, total } = await pageConnectionIds(ctx.store, { sort, offset: q.offset, limit: q.limit });
      const conns = await Promise.all(ids.map((id) => repo().get(id)));
      return { connections: conns.map(apiConnection), total_entries: total };
    },
  );

  app.get(
    '/api/v1/connections/:connection_id',
    { schema: { params: IdParams, tags: ['Connection'], summary: 'Get a connection (secrets never returned)' } },
    async (req) => {
      const { connection_id } = req.params as z.infer<typeof IdParams>;
      return apiConnection(await repo().get(connection_id));
    },
  );

  app.post('/api/v1/connections', { schema: { body: CreateBody, tags: ['Connection'], summary: 'Create a connection' } }, async (req) => {
    const b = req.body as z.infer<typeof CreateBody>;
    const { connection_id, ...rest } = b;
    return apiConnection(await repo().add({ conn_id: connection_id, ...rest } as ConnectionInput));
  });

  app.patch(
    '/api/v1/connections/:connection_id',
    { schema: { params: IdParams, querystring: z.object({ update_mask: csvList }), body: PatchBody, tags: ['Connection'], summary: 'Update a connection' } },
    async (req) => {
      const { connection_id } = req.params as z.infer<typeof IdParams>;
      const { update_mask } = req.query as { update_mask?: string[] };
      const b = req.body as z.infer<typeof PatchBody>;
      if (b.connection_id !== undefined && b.connection_id !== connection_id) {
        throw new InvalidInputError('Invalid request body', [{ path: 'connection_id', message: `must match the path ('${connection_id}')` }]);
      }
      const current = await repo().get(connection_id);
      const next: ConnectionInput = { ...current };
      for (const [k, v] of Object.entries(b)) {
        if (k === 'connection_id' || v === undefined) continue;
        if (update_mask?.length && !update_mask.includes(k)) continue;
        (next as unknown as Record<string, unknown>)[k] = v;
      }
      return apiConnection(await repo().upsert(next));
    },
  );

  app.delete(
    '/api/v1/connections/:connection_id',
    { schema: { params: IdParams, tags: ['Connection'], summary: 'Delete a connection' } },
    async (req, reply) => {
      const { connection_id } = req.params as z.infer<typeof IdParams>;
      await repo().delete(connection_id);
      return reply.code(204).send();
    },
  );
}
