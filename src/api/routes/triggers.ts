/** /api/v1/triggers — every stored trigger (deferflow's own endpoint; Airflow only shows them in the UI). */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Filter } from 'mongodb';
import type { TriggerDoc } from '../../store/schema.ts';
import type { ApiContext } from '../api-context.ts';
import { apiTrigger } from '../serializers.ts';
import { boolQuery, paginationQuery, sortFor } from '../http/pagination.ts';

const Query = z.object({
  ...paginationQuery,
  kind: z.string().optional(),
  triggerer_id: z.string().optional(),
  dag_id: z.string().optional(),
  unclaimed: boolQuery.optional(),
});

export function triggerRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/triggers', { schema: { querystring: Query, tags: ['Trigger'], summary: 'List triggers' } }, async (req) => {
    const q = req.query as z.infer<typeof Query>;
    const filter: Filter<TriggerDoc> = {};
    if (q.kind) filter.kind = q.kind;
    if (q.dag_id) filter.dag_id = q.dag_id;
    if (q.triggerer_id) filter.triggerer_id = q.triggerer_id;
    if (q.unclaimed !== undefined) filter.triggerer_id = q.unclaimed ? null : { $ne: null };
    const sort = sortFor(q.order_by, { created_date: 'created_at', deadline: 'deadline', kind: 'kind', id: '_id', dag_id: 'dag_id' }, 'created_date');
    const [docs, total] = await Promise.all([
      ctx.store.triggers.find(filter).sort(sort).skip(q.offset).limit(q.limit).toArray(),
      ctx.store.triggers.countDocuments(filter),
    ]);
    return { triggers: docs.map(apiTrigger), total_entries: total };
  });
}
