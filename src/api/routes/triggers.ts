/** /api/v1/triggers — every stored trigger (deferflow's own endpoint; Airflow only shows them in the UI). */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { listTriggers } from '../../app/queries/trigger-queries.ts';
import type { ApiContext } from '../api-context.ts';
import { apiTrigger } from '../serializers.ts';
import { ProblemSchema, TriggerCollectionSchema } from '../schemas/resources.ts';
import { boolQuery, paginationQuery, sortFor } from '../http/pagination.ts';

const Query = z.object({
  ...paginationQuery,
  kind: z.string().optional(),
  triggerer_id: z.string().optional(),
  dag_id: z.string().optional(),
  unclaimed: boolQuery.optional(),
});

export function triggerRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/triggers',
    {
      schema: {
        querystring: Query,
        tags: ['Trigger'],
        summary: 'List triggers (what deferred tasks wait on, who holds them, the job’s last known status)',
        response: { 200: TriggerCollectionSchema, default: ProblemSchema },
      },
    },
    async (req) => {
      const q = req.query as z.infer<typeof Query>;
      const sort = sortFor(q.order_by, { created_date: 'created_at', deadline: 'deadline', kind: 'kind', id: '_id', dag_id: 'dag_id' }, 'created_date');
      const page = await listTriggers(
        ctx.store,
        { kind: q.kind, dagId: q.dag_id, triggererId: q.triggerer_id, unclaimed: q.unclaimed },
        { sort, offset: q.offset, limit: q.limit },
      );
      return { triggers: page.items.map(apiTrigger), total_entries: page.total };
    },
  );
}
