/**
 * GET /api/v1/dagSources/{file_token} — the source of a DAG file (the token is a DAG's
 * `file_token`), and GET /api/v1/dagStats — runs per state for some DAGs. Only files some stored
 * DAG comes from are read, so a token cannot open any other file; the file is read where this
 * webserver runs (a webserver on another machine than the DAGs folder answers 404 and says so).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { dagFilelocKnown, dagRunStats } from '../../app/queries/dag-queries.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { ApiContext } from '../api-context.ts';
import { filelocOfToken } from '../serializers.ts';
import { csvList } from '../http/pagination.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { DagSourceSchema, DagStatsSchema, ProblemSchema } from '../schemas/resources.ts';

const errors = { default: ProblemSchema };

export function dagSourceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/dagSources/:file_token',
    {
      schema: {
        params: z.object({ file_token: z.string().min(1) }),
        tags: ['DAG'],
        summary: 'Source of a DAG file (JSON {content}, or text/plain when only that is accepted)',
        response: { 200: z.union([DagSourceSchema, z.string()]).describe('The file’s source'), ...errors },
      },
    },
    async (req, reply) => {
      const { file_token } = req.params as { file_token: string };
      const fileloc = filelocOfToken(file_token);
      if (!fileloc || !(await dagFilelocKnown(ctx.store, fileloc)))
        throw new NotFoundError('NOT_FOUND', 'No DAG file has this file_token; take it from a DAG (GET /dags/{dag_id})');
      let content: string;
      try {
        content = await readFile(fileloc, 'utf8');
      } catch (e) {
        throw new NotFoundError(
          'NOT_FOUND',
          `The DAG file ${fileloc} cannot be read here (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
          'Serve the API from a machine that has the DAGs folder.',
        );
      }
      const accept = req.headers.accept ?? '';
      if (/text\/plain|plain\/text/.test(accept) && !accept.includes('application/json')) return reply.type('text/plain; charset=utf-8').send(content);
      return { content };
    },
  );

  app.get(
    '/api/v1/dagStats',
    {
      schema: {
        querystring: z.object({ dag_ids: csvList }),
        tags: ['DAG'],
        summary: 'DAG runs per state, per DAG',
        response: { 200: DagStatsSchema, ...errors },
      },
    },
    async (req) => {
      const { dag_ids } = req.query as { dag_ids?: string[] };
      if (!dag_ids?.length)
        throw new InvalidInputError('Invalid query parameter', [{ path: 'dag_ids', message: 'give one or more DAG ids (comma-separated)' }]);
      const stats = await dagRunStats(ctx.store, dag_ids);
      const states = ['queued', 'running', 'success', 'failed'];
      return {
        dags: dag_ids.map((dag_id) => ({ dag_id, stats: states.map((state) => ({ state, count: stats.get(dag_id)?.get(state) ?? 0 })) })),
        total_entries: dag_ids.length,
      };
    },
  );
}
