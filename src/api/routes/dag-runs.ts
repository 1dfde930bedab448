/**
 * /api/v1/dags/{dag_id}/dagRuns — list (dag_id `~` = every DAG; POST /dags/~/dagRuns/list with
 * the filters in the body), get, trigger, set state, clear, note, delete: each a use-case of src/app.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { listDagRuns } from '../../app/queries/dag-run-queries.ts';
import { triggerDagRun, RUN_ID_PATTERN } from '../../app/use-cases/trigger-dag-run.ts';
import { clearTaskInstances, FAILED_STATES, selectTaskInstancesToClear } from '../../app/use-cases/clear-task-instances.ts';
import { setDagRunState } from '../../app/use-cases/set-dag-run-state.ts';
import { deleteDagRun } from '../../app/use-cases/delete-dag-run.ts';
import { setDagRunNote } from '../../app/use-cases/set-note.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { DAG_RUN_STATES } from '../../store/schema.ts';
import type { ApiContext } from '../api-context.ts';
import { apiDagRun, apiTaskInstance } from '../serializers.ts';
import { csvList, isoDate, logicalDateInput, MAX_PAGE_LIMIT, paginationQuery, sortFor } from '../http/pagination.ts';
import { requestBody } from '../schemas/registry.ts';
import { ClearedTaskInstancesSchema, DagRunCollectionSchema, DagRunSchema, ProblemSchema } from '../schemas/resources.ts';
import { noContent } from './responses.ts';

const DagParams = z.object({ dag_id: z.string().min(1) });
const RunParams = z.object({ dag_id: z.string().min(1), dag_run_id: z.string().min(1) });
const errors = { default: ProblemSchema };

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

const ListForm = requestBody(
  'ListDagRunsForm',
  z
    .object({
      order_by: z.string().optional(),
      page_offset: z.number().int().min(0).default(0),
      page_limit: z.number().int().min(1).max(MAX_PAGE_LIMIT).default(MAX_PAGE_LIMIT),
      dag_ids: z.array(z.string().min(1)).optional(),
      states: z.array(z.enum(DAG_RUN_STATES)).optional(),
      execution_date_gte: isoDate.optional(),
      execution_date_lte: isoDate.optional(),
      start_date_gte: isoDate.optional(),
      start_date_lte: isoDate.optional(),
      end_date_gte: isoDate.optional(),
      end_date_lte: isoDate.optional(),
    })
    .strict(),
  'Filters for DAG runs across DAGs (POST /dags/~/dagRuns/list)',
);

const TriggerBody = requestBody(
  'TriggerDAGRun',
  z
    .object({
      dag_run_id: z.string().regex(RUN_ID_PATTERN, "use 1-250 letters, digits or '_.:+-~'").nullish(),
      logical_date: logicalDateInput.nullish(),
      execution_date: logicalDateInput.nullish().describe('Airflow’s older name of logical_date; both may be given only when equal'),
      conf: z.record(z.string(), z.unknown()).nullish(),
      note: z.string().max(1000).nullish(),
    })
    .strict()
    .default({}),
  'A manual DAG run to create (Airflow’s DAGRun, writable fields)',
);
const PatchBody = requestBody('UpdateDagRunState', z.object({ state: z.enum(['success', 'failed', 'queued']) }).strict());
const ClearBody = requestBody(
  'ClearDagRun',
  z
    .object({ dry_run: z.boolean().default(true), only_failed: z.boolean().default(false) })
    .strict()
    .default({ dry_run: true, only_failed: false }),
);
const NoteBody = requestBody('SetDagRunNote', z.object({ note: z.string().max(1000) }).strict(), 'An empty note clears it');

export function dagRunRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/dags/:dag_id/dagRuns',
    {
      schema: {
        params: DagParams,
        querystring: ListQuery,
        tags: ['DAGRun'],
        summary: "List DAG runs ('~' for every DAG)",
        response: { 200: DagRunCollectionSchema, ...errors },
      },
    },
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

  app.post(
    '/api/v1/dags/~/dagRuns/list',
    {
      schema: {
        body: ListForm,
        tags: ['DAGRun'],
        summary: 'List DAG runs across DAGs, filters in the body',
        response: { 200: DagRunCollectionSchema, ...errors },
      },
    },
    async (req) => {
      const f = req.body as z.infer<typeof ListForm>;
      const sort = sortFor(f.order_by, ORDER, 'logical_date');
      const page = await listDagRuns(
        ctx.store,
        {
          dagIds: f.dag_ids,
          states: f.states,
          logicalDate: { gte: f.execution_date_gte, lte: f.execution_date_lte },
          startDate: { gte: f.start_date_gte, lte: f.start_date_lte },
          endDate: { gte: f.end_date_gte, lte: f.end_date_lte },
        },
        { sort, offset: f.page_offset, limit: f.page_limit },
      );
      return { dag_runs: page.items.map(apiDagRun), total_entries: page.total };
    },
  );

  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id',
    { schema: { params: RunParams, tags: ['DAGRun'], summary: 'Get a DAG run', response: { 200: DagRunSchema, ...errors } } },
    async (req) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      return apiDagRun(await ctx.requireRun(dag_id, dag_run_id));
    },
  );

  app.post(
    '/api/v1/dags/:dag_id/dagRuns',
    {
      schema: {
        params: DagParams,
        body: TriggerBody,
        tags: ['DAGRun'],
        summary: 'Trigger a DAG run (logical_date: 2025-04-09 or an ISO 8601 date-time; default now)',
        response: { 200: DagRunSchema, ...errors },
      },
    },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const body = req.body as z.infer<typeof TriggerBody>;
      if (body.logical_date && body.execution_date && body.logical_date.getTime() !== body.execution_date.getTime()) {
        throw new InvalidInputError('Invalid request body', [
          {
            path: 'execution_date',
            message: `conflicts with logical_date (${body.logical_date.toISOString()} vs ${body.execution_date.toISOString()}); give one of them, or the same date in both`,
          },
        ]);
      }
      const storedDag = await ctx.requireDag(dag_id);
      const run = await triggerDagRun(ctx.appFor(req), {
        dagId: dag_id,
        storedDag,
        logicalDate: body.logical_date ?? body.execution_date ?? undefined,
        runId: body.dag_run_id ?? undefined,
        conf: body.conf ?? {},
        note: body.note ?? null,
      });
      return apiDagRun(run);
    },
  );

  app.patch(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id',
    { schema: { params: RunParams, body: PatchBody, tags: ['DAGRun'], summary: 'Set the state of a DAG run', response: { 200: DagRunSchema, ...errors } } },
    async (req) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      const { state } = req.body as z.infer<typeof PatchBody>;
      const run = await ctx.requireRun(dag_id, dag_run_id);
      return apiDagRun(await setDagRunState(ctx.appFor(req), run, state));
    },
  );

  app.patch(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/setNote',
    { schema: { params: RunParams, body: NoteBody, tags: ['DAGRun'], summary: 'Set the note of a DAG run', response: { 200: DagRunSchema, ...errors } } },
    async (req) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      const { note } = req.body as z.infer<typeof NoteBody>;
      const run = await ctx.requireRun(dag_id, dag_run_id);
      return apiDagRun((await setDagRunNote(ctx.appFor(req), run, note)) ?? (await ctx.requireRun(dag_id, dag_run_id)));
    },
  );

  app.post(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/clear',
    {
      schema: {
        params: RunParams,
        body: ClearBody,
        tags: ['DAGRun'],
        summary: 'Clear a DAG run (dry_run lists the task instances it would clear)',
        response: { 200: z.union([DagRunSchema, ClearedTaskInstancesSchema]).describe('The run after the clear, or (dry_run) what it would clear'), ...errors },
      },
    },
    async (req) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      const body = req.body as z.infer<typeof ClearBody>;
      const run = await ctx.requireRun(dag_id, dag_run_id);
      const actor = ctx.appFor(req);
      const { dag, tis } = await selectTaskInstancesToClear(actor, {
        dagId: dag_id,
        runId: dag_run_id,
        states: body.only_failed ? FAILED_STATES : undefined,
      });
      if (body.dry_run) return { task_instances: tis.map((t) => apiTaskInstance(t)), total_entries: tis.length };
      await clearTaskInstances(actor, dag, tis, { resetDagRuns: false });
      // The run is requeued even when nothing was cleared: clearing a run restarts it.
      const requeued = await ctx.app.runs.requeue(run._id);
      return apiDagRun(requeued ?? run);
    },
  );

  app.delete(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id',
    { schema: { params: RunParams, tags: ['DAGRun'], summary: 'Delete a DAG run and its task instances', response: { 204: noContent('Deleted'), ...errors } } },
    async (req, reply) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      await deleteDagRun(ctx.appFor(req), await ctx.requireRun(dag_id, dag_run_id));
      return reply.code(204).send();
    },
  );
}
