/** /api/v1/dags — list, get, pause/unpause; /dags/{dag_id}/tasks — the task list of a DAG. */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { listDags } from '../../app/queries/dag-queries.ts';
import { setDagPaused } from '../../app/use-cases/pause-dag.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import type { ApiContext } from '../api-context.ts';
import { apiDag, apiTask } from '../serializers.ts';
import { boolQuery, csvList, paginationQuery, sortFor } from '../http/pagination.ts';

const DagParams = z.object({ dag_id: z.string().min(1) });
const TaskParams = z.object({ dag_id: z.string().min(1), task_id: z.string().min(1) });
const ListQuery = z.object({
  ...paginationQuery,
  tags: csvList,
  only_active: boolQuery.default(true),
  paused: boolQuery.optional(),
  dag_id_pattern: z.string().optional(),
});
const PatchQuery = z.object({ update_mask: csvList });
const PatchBody = z.object({ is_paused: z.boolean() }).strict();
const ORDER = { dag_id: 'dag_id', last_parsed_time: 'last_parsed_time', next_dagrun: 'next_dagrun', fileloc: 'fileloc', is_paused: 'is_paused' };

export function dagRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/dags', { schema: { querystring: ListQuery, tags: ['DAG'], summary: 'List DAGs' } }, async (req) => {
    const q = req.query as z.infer<typeof ListQuery>;
    const sort = sortFor(q.order_by, ORDER, 'dag_id');
    const page = await listDags(
      ctx.store,
      { activeOnly: q.only_active, paused: q.paused, tags: q.tags, idContains: q.dag_id_pattern },
      { sort, offset: q.offset, limit: q.limit },
    );
    return { dags: page.items.map(apiDag), total_entries: page.total };
  });

  app.get('/api/v1/dags/:dag_id', { schema: { params: DagParams, tags: ['DAG'], summary: 'Get a DAG' } }, async (req) => {
    const { dag_id } = req.params as z.infer<typeof DagParams>;
    return apiDag(await ctx.requireDag(dag_id));
  });

  app.patch(
    '/api/v1/dags/:dag_id',
    { schema: { params: DagParams, querystring: PatchQuery, body: PatchBody, tags: ['DAG'], summary: 'Pause or unpause a DAG' } },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const body = req.body as z.infer<typeof PatchBody>;
      const doc = await setDagPaused(ctx.app, dag_id, body.is_paused);
      if (!doc) throw new NotFoundError('DAG_NOT_FOUND', `DAG with dag_id: '${dag_id}' not found`);
      return apiDag(doc);
    },
  );

  app.get(
    '/api/v1/dags/:dag_id/tasks',
    { schema: { params: DagParams, querystring: z.object({ order_by: z.string().optional() }), tags: ['DAG'], summary: 'Tasks of a DAG' } },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const { order_by } = req.query as { order_by?: string };
      const dag = await ctx.requireDag(dag_id);
      const tasks = dag.tasks.map(apiTask);
      const desc = order_by?.startsWith('-') ?? false;
      const key = (order_by ?? 'task_id').replace(/^-/, '');
      if (!['task_id', 'operator_name', 'retries'].includes(key)) {
        throw new InvalidInputError('Invalid query parameter', [
          { path: 'order_by', message: `Ordering with '${key}' is disallowed; use task_id, operator_name or retries` },
        ]);
      }
      if (order_by) tasks.sort((a, b) => (String(a[key as keyof typeof a]) < String(b[key as keyof typeof b]) ? -1 : 1) * (desc ? -1 : 1));
      return { tasks, total_entries: tasks.length };
    },
  );

  app.get('/api/v1/dags/:dag_id/tasks/:task_id', { schema: { params: TaskParams, tags: ['DAG'], summary: 'One task of a DAG' } }, async (req) => {
    const { dag_id, task_id } = req.params as z.infer<typeof TaskParams>;
    const dag = await ctx.requireDag(dag_id);
    const t = dag.tasks.find((x) => x.task_id === task_id);
    if (!t) throw new NotFoundError('TASK_NOT_FOUND', `Task with id '${task_id}' not found in DAG '${dag_id}'`);
    return apiTask(t);
  });
}
