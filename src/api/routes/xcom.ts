/** …/taskInstances/{task_id}/xcomEntries and …/xcomEntries/{xcom_key}. Values are JSON, returned parsed. */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { getXCom, listXComs } from '../../app/queries/xcom-queries.ts';
import type { ApiContext } from '../api-context.ts';
import { apiXCom } from '../serializers.ts';
import { getDagRun } from '../../app/queries/dag-run-queries.ts';
import { ProblemSchema, XComCollectionSchema, XComSchema } from '../schemas/resources.ts';
import { paginationQuery, sortFor } from '../http/pagination.ts';

const TiParams = z.object({ dag_id: z.string().min(1), dag_run_id: z.string().min(1), task_id: z.string().min(1) });
const KeyParams = TiParams.extend({ xcom_key: z.string().min(1) });
const ListQuery = z.object({ ...paginationQuery, map_index: z.coerce.number().int().min(-1).optional() });

export function xcomRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/xcomEntries',
    {
      schema: {
        params: TiParams,
        querystring: ListQuery,
        tags: ['XCom'],
        summary: 'XCom entries of a task instance',
        response: { 200: XComCollectionSchema, default: ProblemSchema },
      },
    },
    async (req) => {
      const { dag_id, dag_run_id, task_id } = req.params as z.infer<typeof TiParams>;
      const q = req.query as z.infer<typeof ListQuery>;
      const sort = sortFor(q.order_by, { key: 'key', timestamp: 'timestamp' }, 'key');
      const run = await getDagRun(ctx.store, dag_id, dag_run_id);
      const page = await listXComs(
        ctx.store,
        { dagId: dag_id, runId: dag_run_id, taskId: task_id, mapIndex: q.map_index },
        { sort, offset: q.offset, limit: q.limit },
      );
      return { xcom_entries: page.items.map((x) => apiXCom(x, run?.logical_date ?? null)), total_entries: page.total };
    },
  );

  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/xcomEntries/:xcom_key',
    {
      schema: {
        params: KeyParams,
        querystring: z.object({ map_index: z.coerce.number().int().min(-1).default(-1) }),
        tags: ['XCom'],
        summary: 'One XCom entry with its value',
        response: { 200: XComSchema, default: ProblemSchema },
      },
    },
    async (req) => {
      const { dag_id, dag_run_id, task_id, xcom_key } = req.params as z.infer<typeof KeyParams>;
      const { map_index } = req.query as { map_index: number };
      const doc = await getXCom(ctx.store, { dagId: dag_id, runId: dag_run_id, taskId: task_id, mapIndex: map_index }, xcom_key);
      if (!doc) throw new NotFoundError('NOT_FOUND', `XCom entry '${xcom_key}' of task '${task_id}' in run '${dag_run_id}' of DAG '${dag_id}' not found`);
      const run = await getDagRun(ctx.store, dag_id, dag_run_id);
      return apiXCom(doc, run?.logical_date ?? null, true);
    },
  );
}
