/**
 * /api/v1/dags/{dag_id}/dagRuns — list (dag_id `~` = every DAG), get, trigger, set state, clear,
 * delete: each a use-case of src/app.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { listDagRuns } from '../../app/queries/dag-run-queries.ts';
import { triggerDagRun, RUN_ID_PATTERN } from '../../app/use-cases/trigger-dag-run.ts';
import { clearTaskInstances, FAILED_STATES, selectTaskInstancesToClear } from '../../app/use-cases/clear-task-instances.ts';
import { setDagRunState } from '../../app/use-cases/set-dag-run-state.ts';
import { deleteDagRun } from '../../app/use-cases/delete-dag-run.ts';
import type { ApiContext } from '../api-context.ts';
import { apiDagRun, apiTaskInstance } from '../serializers.ts';
import { csvList, isoDate, paginationQuery, sortFor } from '../http/pagination.ts';

const DagParams = z.object({ dag_id: z.string().min(1) });
const RunParams = z.object({ dag_id: z.string().min(1), dag_run_id: z.string().min(1) });

const ListQuery = z.object({
  ...paginationQuery,
  state: csvList,
  logical_date_gte: isoDate.optional(),
  logical_date_lte: isoDate.optional(),
  execution_date_gte: isoDate.optional(),
  execution_date_lte: isoDate.optional(),
  start_date_gte: isoDate.optional(),
  start_date_lte: isoDate.optional(),
  end_date_gte: isoDate.optional(),
  end_date_lte: isoDate.optional(),
  updated_at_gte: isoDate.optional(),
  updated_at_lte: isoDate.optional(),
});
const ORDER = {
  dag_run_id: 'run_id',
  logical_date: 'logical_date',
  execution_date: 'logical_date',
  start_date: 'start_date',
  end_date: 'end_date',
  state: 'state',
  updated_at: 'updated_at',
  dag_id: 'dag_id',
  queued_at: 'queued_at',
};

const TriggerBody = z
  .object({
    dag_run_id: z.string().regex(RUN_ID_PATTERN, "use 1-250 letters, digits or '_.:+-~'").nullish(),
    logical_date: z.iso.datetime({ offset: true }).nullish(),
    execution_date: z.iso.datetime({ offset: true }).nullish(),
    conf: z.record(z.string(), z.unknown()).nullish(),
    note: z.string().max(1000).nullish(),
  })
  .strict()
  .default({});
const PatchBody = z.object({ state: z.enum(['success', 'failed', 'queued']) }).strict();
const ClearBody = z
  .object({ dry_run: z.boolean().default(true), only_failed: z.boolean().default(false) })
  .strict()
  .default({ dry_run: true, only_failed: false });

export function dagRunRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/dags/:dag_id/dagRuns',
    { schema: { params: DagParams, querystring: ListQuery, tags: ['DAGRun'], summary: "List DAG runs ('~' for every DAG)" } },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const q = req.query as z.infer<typeof ListQuery>;
      if (dag_id !== '~') await ctx.requireDag(dag_id);
      const sort = sortFor(q.order_by, ORDER, 'logical_date');
      const page = await listDagRuns(
        ctx.store,
        {
          dagId: dag_id === '~' ? undefined : dag_id,
          states: q.state,
          logicalDate: { gte: q.logical_date_gte ?? q.execution_date_gte, lte: q.logical_date_lte ?? q.execution_date_lte },
          startDate: { gte: q.start_date_gte, lte: q.start_date_lte },
          endDate: { gte: q.end_date_gte, lte: q.end_date_lte },
          updatedAt: { gte: q.updated_at_gte, lte: q.updated_at_lte },
        },
        { sort, offset: q.offset, limit: q.limit },
      );
      return { dag_runs: page.items.map(apiDagRun), total_entries: page.total };
    },
  );

  app.get('/api/v1/dags/:dag_id/dagRuns/:dag_run_id', { schema: { params: RunParams, tags: ['DAGRun'], summary: 'Get a DAG run' } }, async (req) => {
    const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
    return apiDagRun(await ctx.requireRun(dag_id, dag_run_id));
  });

  app.post(
    '/api/v1/dags/:dag_id/dagRuns',
    { schema: { params: DagParams, body: TriggerBody, tags: ['DAGRun'], summary: 'Trigger a DAG run' } },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const body = req.body as z.infer<typeof TriggerBody>;
      const storedDag = await ctx.requireDag(dag_id);
      const given = body.logical_date ?? body.execution_date;
      const run = await triggerDagRun(ctx.app, {
        dagId: dag_id,
        storedDag,
        logicalDate: given ? new Date(given) : undefined,
        runId: body.dag_run_id ?? undefined,
        conf: body.conf ?? {},
        note: body.note ?? null,
      });
      return apiDagRun(run);
    },
  );

  app.patch(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id',
    { schema: { params: RunParams, body: PatchBody, tags: ['DAGRun'], summary: 'Set the state of a DAG run' } },
    async (req) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      const { state } = req.body as z.infer<typeof PatchBody>;
      const run = await ctx.requireRun(dag_id, dag_run_id);
      return apiDagRun(await setDagRunState(ctx.app, run, state));
    },
  );

  app.post(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/clear',
    { schema: { params: RunParams, body: ClearBody, tags: ['DAGRun'], summary: 'Clear a DAG run' } },
    async (req) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      const body = req.body as z.infer<typeof ClearBody>;
      const run = await ctx.requireRun(dag_id, dag_run_id);
      const { dag, tis } = await selectTaskInstancesToClear(ctx.app, {
        dagId: dag_id,
        runId: dag_run_id,
        states: body.only_failed ? FAILED_STATES : undefined,
      });
      if (body.dry_run) return { task_instances: tis.map((t) => apiTaskInstance(t)), total_entries: tis.length };
      await clearTaskInstances(ctx.app, dag, tis, { resetDagRuns: false });
      // The run is requeued even when nothing was cleared: clearing a run restarts it.
      const requeued = await ctx.app.runs.requeue(run._id);
      return apiDagRun(requeued ?? run);
    },
  );

  app.delete(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id',
    { schema: { params: RunParams, tags: ['DAGRun'], summary: 'Delete a DAG run and its task instances' } },
    async (req, reply) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      await deleteDagRun(ctx.app, await ctx.requireRun(dag_id, dag_run_id));
      return reply.code(204).send();
    },
  );
}
