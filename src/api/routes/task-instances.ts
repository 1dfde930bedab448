/**
 * Task instances of a run (`~` accepted for dag_id and dag_run_id, as in Airflow), one task
 * instance, and its manual state change. Bulk clear / set-state live in task-instance-bulk.ts.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { TASK_INSTANCE_STATES, type TaskInstanceState } from '../../store/schema.ts';
import { listTaskInstances } from '../../app/queries/task-instance-queries.ts';
import { markTaskInstances } from '../../app/use-cases/mark-task-instances.ts';
import type { ApiContext } from '../api-context.ts';
import { tiReference } from '../serializers.ts';
import { withTriggers } from '../task-instance-loader.ts';
import { csvList, isoDate, paginationQuery, sortFor } from '../http/pagination.ts';

const RunParams = z.object({ dag_id: z.string().min(1), dag_run_id: z.string().min(1) });
const TiParams = RunParams.extend({ task_id: z.string().min(1) });
const STATE_NAMES = [...TASK_INSTANCE_STATES, 'none'] as const;
const ListQuery = z.object({
  ...paginationQuery,
  state: csvList.refine((v) => !v || v.every((s) => (STATE_NAMES as readonly string[]).includes(s)), { message: `states are ${STATE_NAMES.join(', ')}` }),
  queue: csvList,
  task_ids: csvList,
  updated_at_gte: isoDate.optional(),
  start_date_gte: isoDate.optional(),
  start_date_lte: isoDate.optional(),
});
const ORDER = {
  task_id: 'task_id',
  start_date: 'start_date',
  end_date: 'end_date',
  state: 'state',
  duration: 'duration',
  priority_weight: 'priority_weight',
  updated_at: 'updated_at',
  try_number: 'try_number',
  dag_run_id: 'run_id',
  execution_date: 'logical_date',
  logical_date: 'logical_date',
  deferred_ms: 'deferred_ms',
};
const PatchBody = z.object({ dry_run: z.boolean().default(true), new_state: z.enum(['success', 'failed', 'skipped']) }).strict();

export function taskInstanceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances',
    { schema: { params: RunParams, querystring: ListQuery, tags: ['TaskInstance'], summary: "Task instances of a DAG run ('~' for any)" } },
    async (req) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      const q = req.query as z.infer<typeof ListQuery>;
      if (dag_run_id !== '~') {
        if (dag_id !== '~') await ctx.requireRun(dag_id, dag_run_id);
      } else if (dag_id !== '~') await ctx.requireDag(dag_id);
      const sort = sortFor(q.order_by, ORDER, 'task_id');
      const page = await listTaskInstances(
        ctx.store,
        {
          dagId: dag_id === '~' ? undefined : dag_id,
          runId: dag_run_id === '~' ? undefined : dag_run_id,
          states: q.state?.length ? q.state.map((s) => (s === 'none' ? null : s) as TaskInstanceState) : undefined,
          queues: q.queue,
          taskIds: q.task_ids?.length ? q.task_ids : undefined,
          updatedAt: { gte: q.updated_at_gte },
          startDate: { gte: q.start_date_gte, lte: q.start_date_lte },
        },
        { sort, offset: q.offset, limit: q.limit },
      );
      return { task_instances: await withTriggers(ctx.store, page.items), total_entries: page.total };
    },
  );

  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id',
    { schema: { params: TiParams, tags: ['TaskInstance'], summary: 'One task instance' } },
    async (req) => {
      const { dag_id, dag_run_id, task_id } = req.params as z.infer<typeof TiParams>;
      const ti = await ctx.requireTi(dag_id, dag_run_id, task_id);
      return (await withTriggers(ctx.store, [ti]))[0];
    },
  );

  app.patch(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id',
    { schema: { params: TiParams, body: PatchBody, tags: ['TaskInstance'], summary: 'Mark a task instance success / failed / skipped' } },
    async (req) => {
      const { dag_id, dag_run_id, task_id } = req.params as z.infer<typeof TiParams>;
      const body = req.body as z.infer<typeof PatchBody>;
      const ti = await ctx.requireTi(dag_id, dag_run_id, task_id);
      if (body.dry_run) return tiReference(ti);
      await markTaskInstances(ctx.app, [ti], body.new_state);
      return tiReference(ti);
    },
  );
}
