/**
 * /api/v1/connections — CRUD and import through the connection use-cases (secrets encrypted at
 * rest, every change audited). Responses NEVER carry the password (the field is absent, as in
 * Airflow) and extra values under sensitive keys are masked `***`; `has_password` tells the UI
 * whether one is set. An edit that sends `***` back, or no password, keeps the stored secret.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Connection, ConnectionInput } from '../../connections/connection.ts';
import { maskConnection, type ConnectionRepository } from '../../connections/connection-repository.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { paginationQuery, sortFor, csvList } from '../http/pagination.ts';
import { pageConnectionIds } from '../../app/queries/connection-queries.ts';
import { addConnection, deleteConnection, importConnections, updateConnection, type ConnectionChanges } from '../../app/use-cases/connections.ts';
import type { ApiContext } from '../api-context.ts';
import { requestBody } from '../schemas/registry.ts';
import { ConnectionCollectionSchema, ConnectionSchema, ImportResultSchema, ProblemSchema, type ApiConnection } from '../schemas/resources.ts';
import { noContent } from './responses.ts';

export type { ApiConnection };

const IdParams = z.object({ connection_id: z.string().min(1) });
const Fields = {
  conn_type: z.string().min(1),
  description: z.string().nullish(),
  host: z.string().nullish(),
  login: z.string().nullish(),
  schema: z.string().nullish(),
  port: z.number().int().min(0).max(65535).nullish(),
  password: z.string().nullish().describe('Write-only: never returned'),
  extra: z
    .union([z.string(), z.record(z.string(), z.unknown())])
    .nullish()
    .describe('JSON object (or its text); *** keeps a stored secret value'),
};
const CreateBody = requestBody('ConnectionInput', z.object({ connection_id: z.string().min(1), ...Fields }).strict(), 'A connection to create');
const PatchBody = requestBody(
  'ConnectionPatch',
  z.object({ connection_id: z.string().min(1).optional(), ...Fields, conn_type: Fields.conn_type.optional() }).strict(),
  'Fields of a connection to change (update_mask narrows them); a password left out is kept',
);
const ImportBody = requestBody(
  'ConnectionsImport',
  z
    .object({
      connections: z
        .union([z.record(z.string(), z.object(Fields).strict()), z.array(z.object({ connection_id: z.string().min(1), ...Fields }).strict())])
        .describe('Airflow’s `connections export` JSON ({conn_id: {conn_type, …}}) or a list of connections'),
      skip_existing: z.boolean().default(false),
    })
    .strict(),
);
const errors = { default: ProblemSchema };

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

function connectionItem(c: Connection): Omit<ApiConnection, 'extra'> {
  const { extra: _extra, ...item } = apiConnection(c);
  return item;
}

type FieldsInput = { [K in keyof typeof Fields]?: z.infer<(typeof Fields)[K]> };

function toInput(connId: string, f: FieldsInput): ConnectionInput {
  return { conn_id: connId, ...f, conn_type: f.conn_type ?? '' } as ConnectionInput;
}

export function connectionRoutes(app: FastifyInstance, ctx: ApiContext, repo: () => ConnectionRepository): void {
  app.get(
    '/api/v1/connections',
    {
      schema: {
        querystring: z.object(paginationQuery),
        tags: ['Connection'],
        summary: 'List connections (no password, no extra: read one connection for its masked extra)',
        response: { 200: ConnectionCollectionSchema, ...errors },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; offset: number; order_by?: string };
      const sort = sortFor(q.order_by, { connection_id: '_id', conn_type: 'conn_type' }, 'connection_id');
      const { ids, total } = await pageConnectionIds(ctx.store, { sort, offset: q.offset, limit: q.limit });
      const conns = await Promise.all(ids.map((id) => repo().get(id)));
      return { connections: conns.map(connectionItem), total_entries: total };
    },
  );

  app.get(
    '/api/v1/connections/:connection_id',
    {
      schema: { params: IdParams, tags: ['Connection'], summary: 'Get a connection (secrets never returned)', response: { 200: ConnectionSchema, ...errors } },
    },
    async (req) => {
      const { connection_id } = req.params as z.infer<typeof IdParams>;
      return apiConnection(await repo().get(connection_id));
    },
  );

  app.post(
    '/api/v1/connections',
    { schema: { body: CreateBody, tags: ['Connection'], summary: 'Create a connection', response: { 200: ConnectionSchema, ...errors } } },
    async (req) => {
      const { connection_id, ...rest } = req.body as z.infer<typeof CreateBody>;
      return apiConnection((await addConnection(ctx.appFor(req), toInput(connection_id, rest), repo())).connection);
    },
  );

  app.post(
    '/api/v1/connections/import',
    {
      schema: {
        body: ImportBody,
        tags: ['Connection'],
        summary: 'Import connections (deferflow; what the UI’s import sends)',
        response: { 200: ImportResultSchema, ...errors },
      },
    },
    async (req) => {
      const b = req.body as z.infer<typeof ImportBody>;
      const inputs = Array.isArray(b.connections)
        ? b.connections.map(({ connection_id, ...f }) => toInput(connection_id, f))
        : Object.entries(b.connections).map(([id, f]) => toInput(id, f));
      return importConnections(ctx.appFor(req), inputs, { overwrite: !b.skip_existing }, repo());
    },
  );

  app.patch(
    '/api/v1/connections/:connection_id',
    {
      schema: {
        params: IdParams,
        querystring: z.object({ update_mask: csvList }),
        body: PatchBody,
        tags: ['Connection'],
        summary: 'Update a connection',
        response: { 200: ConnectionSchema, ...errors },
      },
    },
    async (req) => {
      const { connection_id } = req.params as z.infer<typeof IdParams>;
      const { update_mask } = req.query as { update_mask?: string[] };
      const { connection_id: bodyId, ...b } = req.body as z.infer<typeof PatchBody>;
      if (bodyId !== undefined && bodyId !== connection_id) {
        throw new InvalidInputError('Invalid request body', [{ path: 'connection_id', message: `must match the path ('${connection_id}')` }]);
      }
      const changes: ConnectionChanges = {};
      for (const [k, v] of Object.entries(b)) {
        if (update_mask?.length && !update_mask.includes(k)) continue;
        (changes as Record<string, unknown>)[k] = v;
      }
      return apiConnection(await updateConnection(ctx.appFor(req), repo(), connection_id, changes));
    },
  );

  app.delete(
    '/api/v1/connections/:connection_id',
    { schema: { params: IdParams, tags: ['Connection'], summary: 'Delete a connection', response: { 204: noContent('Deleted'), ...errors } } },
    async (req, reply) => {
      const { connection_id } = req.params as z.infer<typeof IdParams>;
      await deleteConnection(ctx.appFor(req), repo(), connection_id);
      return reply.code(204).send();
    },
  );
}
