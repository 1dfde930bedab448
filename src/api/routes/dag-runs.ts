/**
 * /api/v1/dags/{dag_id}/dagRuns — list (dag_id `~` = every DAG), get, trigger (manual run through
 * DagRunTransitions.create), set state, clear, delete.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Filter } from 'mongodb';
import { dagRunId, FINISHED_TI_STATES, type DagRunDoc, type TaskInstanceDoc } from '../../store/schema.ts';
import { manualDataInterval } from '../../scheduler/timetable.ts';
import { isoUtc } from '../../util/time-format.ts';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import type { ApiContext } from '../api-context.ts';
import { apiDagRun, apiTaskInstance } from '../serializers.ts';
import { csvList, isoDate, paginationQuery, sortFor } from '../http/pagination.ts';
import { clearTaskInstances, markTaskInstances } from '../task-instance-actions.ts';

const DagParams = z.object({ dag_id: z.string().min(1) });
const RunParams = z.object({ dag_id: z.string().min(1), dag_run_id: z.string().min(1) });
const RUN_ID_RE = /^[A-Za-z0-9_.:+\-~]{1,250}$/;

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
    dag_run_id: z.string().regex(RUN_ID_RE, "use 1-250 letters, digits or '_.:+-~'").nullish(),
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

function range(filter: Record<string, unknown>, field: string, gte?: Date, lte?: Date): void {
  if (!gte && !lte) return;
  filter[field] = { ...(gte ? { $gte: gte } : {}), ...(lte ? { $lte: lte } : {}) };
}

export function dagRunRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/dags/:dag_id/dagRuns',
    { schema: { params: DagParams, querystring: ListQuery, tags: ['DAGRun'], summary: "List DAG runs ('~' for every DAG)" } },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const q = req.query as z.infer<typeof ListQuery>;
      const filter: Record<string, unknown> = {};
      if (dag_id !== '~') {
        await ctx.requireDag(dag_id);
        filter.dag_id = dag_id;
      }
      if (q.state?.length) filter.state = { $in: q.state };
      range(filter, 'logical_date', q.logical_date_gte ?? q.execution_date_gte, q.logical_date_lte ?? q.execution_date_lte);
      range(filter, 'start_date', q.start_date_gte, q.start_date_lte);
      range(filter, 'end_date', q.end_date_gte, q.end_date_lte);
      range(filter, 'updated_at', q.updated_at_gte, q.updated_at_lte);
      const f = filter as Filter<DagRunDoc>;
      const sort = sortFor(q.order_by, ORDER, 'logical_date');
      const [docs, total] = await Promise.all([
        ctx.store.dagRuns.find(f).sort(sort).skip(q.offset).limit(q.limit).toArray(),
        ctx.store.dagRuns.countDocuments(f),
      ]);
      return { dag_runs: docs.map(apiDagRun), total_entries: total };
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
      const dag = await ctx.requireDag(dag_id);
      const given = body.logical_date ?? body.execution_date;
      const logicalDate = given ? new Date(given) : new Date();
      const runId = body.dag_run_id ?? `manual__${isoUtc(logicalDate)}`;
      const run = await ctx.runs.create({
        dagId: dag_id,
        runId,
        runType: 'manual',
        logicalDate,
        dataInterval: manualDataInterval(dag.schedule, logicalDate),
        conf: body.conf ?? {},
        externalTrigger: true,
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
      // Airflow's set_dag_run_state_to_success/failed: settle the unfinished task instances first.
      const unfinished = await ctx.store.taskInstances.find({ dag_id, run_id: dag_run_id, state: { $nin: [...FINISHED_TI_STATES] } }).toArray();
      if (state === 'success') await markTaskInstances(ctx, unfinished, 'success');
      if (state === 'failed') {
        const started = unfinished.filter((t) => t.state === 'running' || t.state === 'deferred' || t.state === 'up_for_reschedule');
        await markTaskInstances(ctx, started, 'failed');
        await markTaskInstances(
          ctx,
          unfinished.filter((t) => !started.includes(t)),
          'skipped',
        );
      }
      const updated = await ctx.runs.markState(run._id, state);
      if (!updated) throw new DeferflowError('STATE_CONFLICT', `DAG run '${dag_run_id}' changed while being set to ${state}; retry`);
      return apiDagRun(updated);
    },
  );

  app.post(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/clear',
    { schema: { params: RunParams, body: ClearBody, tags: ['DAGRun'], summary: 'Clear a DAG run' } },
    async (req) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      const body = req.body as z.infer<typeof ClearBody>;
      const run = await ctx.requireRun(dag_id, dag_run_id);
      const filter: Filter<TaskInstanceDoc> = { dag_id, run_id: dag_run_id, ...(body.only_failed ? { state: { $in: ['failed', 'upstream_failed'] } } : {}) };
      const tis = await ctx.store.taskInstances.find(filter).sort({ task_id: 1 }).toArray();
      if (body.dry_run) return { task_instances: tis.map((t) => apiTaskInstance(t)), total_entries: tis.length };
      const dag = await ctx.store.dags.findOne({ _id: dag_id });
      await clearTaskInstances(ctx, dag, tis, { resetDagRuns: false });
      const requeued = await ctx.runs.requeue(run._id);
      return apiDagRun(requeued ?? run);
    },
  );

  app.delete(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id',
    { schema: { params: RunParams, tags: ['DAGRun'], summary: 'Delete a DAG run and its task instances' } },
    async (req, reply) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      const run = await ctx.requireRun(dag_id, dag_run_id);
      // Deleting is not a state change: rows go away. Triggers first, so no triggerer resumes a
      // task that is being deleted; then the task rows, their XComs and logs, then the run.
      const tis = await ctx.store.taskInstances.find({ dag_id, run_id: dag_run_id }).toArray();
      for (const t of tis) if (t.trigger_id) await ctx.triggers.delete(t.trigger_id);
      await ctx.store.triggers.deleteMany({ dag_id, run_id: dag_run_id });
      await Promise.all([
        ctx.store.taskInstances.deleteMany({ dag_id, run_id: dag_run_id }),
        ctx.store.xcom.deleteMany({ dag_id, run_id: dag_run_id }),
        ctx.store.taskLogs.deleteMany({ dag_id, run_id: dag_run_id }),
      ]);
      await ctx.store.dagRuns.deleteOne({ _id: dagRunId(run.dag_id, run.run_id) });
      return reply.code(204).send();
    },
  );
}
