/** /api/v1/importErrors — DAG files that failed to load (file, stack trace, when). */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { getImportError, listImportErrors } from '../../app/queries/import-error-queries.ts';
import type { ApiContext } from '../api-context.ts';
import { apiImportError, numericId } from '../serializers.ts';
import { ImportErrorCollectionSchema, ImportErrorSchema, ProblemSchema } from '../schemas/resources.ts';
import { paginationQuery, sortFor } from '../http/pagination.ts';

export function importErrorRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/importErrors',
    {
      schema: {
        querystring: z.object(paginationQuery),
        tags: ['ImportError'],
        summary: 'List import errors',
        response: { 200: ImportErrorCollectionSchema, default: ProblemSchema },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; offset: number; order_by?: string };
      const sort = sortFor(q.order_by, { import_error_id: '_id', filename: 'filename', timestamp: 'timestamp' }, 'filename');
      const page = await listImportErrors(ctx.store, { sort, offset: q.offset, limit: q.limit });
      return { import_errors: page.items.map(apiImportError), total_entries: page.total };
    },
  );

  app.get(
    '/api/v1/importErrors/:import_error_id',
    {
      schema: {
        params: z.object({ import_error_id: z.string().min(1) }),
        tags: ['ImportError'],
        summary: 'Get an import error (by its number, or by file name)',
        response: { 200: ImportErrorSchema, default: ProblemSchema },
      },
    },
    async (req) => {
      const { import_error_id } = req.params as { import_error_id: string };
      // Ids are numbers derived from the file name (Airflow's are integers); the file name works too.
      const doc =
        (await getImportError(ctx.store, import_error_id)) ??
        (/^\d+$/.test(import_error_id)
          ? ((await listImportErrors(ctx.store, { sort: { _id: 1 }, offset: 0, limit: 10_000 })).items.find(
              (e) => numericId(e._id) === Number(import_error_id),
            ) ?? null)
          : null);
      if (!doc) throw new NotFoundError('NOT_FOUND', `Import error '${import_error_id}' not found`);
      return apiImportError(doc);
    },
  );
}
