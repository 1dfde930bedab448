/**
 * Task instances of a run (`~` accepted for dag_id and dag_run_id, as in Airflow; POST
 * /dags/~/dagRuns/~/taskInstances/list with the filters in the body), one task instance, its manual
 * state change and its note. Bulk clear / set-state live in task-instance-bulk.ts, tries in
 * task-instance-tries.ts.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { TASK_INSTANCE_STATES, type TaskInstanceState } from '../../store/schema.ts';
import { listTaskInstances } from '../../app/queries/task-instance-queries.ts';
import { markTaskInstances } from '../../app/use-cases/mark-task-instances.ts';
import { setTaskInstanceNote } from '../../app/use-cases/set-note.ts';
import type { ApiContext } from '../api-context.ts';
import { tiReference } from '../serializers.ts';
import { withTriggers } from '../task-instance-loader.ts';
import { csvList, isoDate, MAX_PAGE_LIMIT, paginationQuery, sortFor } from '../http/pagination.ts';
import { requestBody } from '../schemas/registry.ts';
import { ProblemSchema, TaskInstanceCollectionSchema, TaskInstanceReferenceSchema, TaskInstanceSchema } from '../schemas/resources.ts';

const RunParams = z.object({ dag_id: z.string().min(1), dag_run_id: z.string().min(1) });
const TiParams = RunParams.extend({ task_id: z.string().min(1) });
const STATE_NAMES = [...TASK_INSTANCE_STATES, 'none'] as const;
const errors = { default: ProblemSchema };
const ListQuery = z.object({
  ...paginationQuery,
  state: csvList.refine((v) => !v || v.every((s) => (STATE_NAMES as readonly string[]).includes(s)), { message: `states are ${STATE_NAMES.join(', ')}` }),
  queue: csvList,
  task_ids: csvList,
  updated_at_gte: isoDate.optional(),
  start_date_gte: isoDate.optional(),
  start_date_lte: isoDate.optional(),
  end_date_gte: isoDate.optional(),
  end_date_lte: isoDate.optional(),
  execution_date_gte: isoDate.optional(),
  execution_date_lte: isoDate.optional(),
  duration_gte: z.coerce.number().optional(),
  duration_lte: z.coerce.number().optional(),
});
export const TI_ORDER = {
  task_id: 'task_id',
  dag_id: 'dag_id',
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
  deferred_at: 'deferred_at',
};
const ListForm = requestBody(
  'ListTaskInstanceForm',
  z
    .object({
      page_offset: z.number().int().min(0).default(0),
      page_limit: z.number().int().min(1).max(MAX_PAGE_LIMIT).default(MAX_PAGE_LIMIT),
      order_by: z.string().optional(),
      dag_ids: z.array(z.string().min(1)).optional(),
      dag_run_ids: z.array(z.string().min(1)).optional(),
      task_ids: z.array(z.string().min(1)).optional(),
      state: z.array(z.enum(STATE_NAMES).nullable()).optional(),
      queue: z.array(z.string()).optional(),
      pool: z.array(z.string()).optional(),
      executor: z.array(z.string()).optional(),
      execution_date_gte: isoDate.optional(),
      execution_date_lte: isoDate.optional(),
      start_date_gte: isoDate.optional(),
      start_date_lte: isoDate.optional(),
      end_date_gte: isoDate.optional(),
      end_date_lte: isoDate.optional(),
      duration_gte: z.number().optional(),
      duration_lte: z.number().optional(),
    })
    .strict(),
  'Filters for task instances across DAGs and runs (POST /dags/~/dagRuns/~/taskInstances/list)',
);
const PatchBody = requestBody(
  'UpdateTaskInstance',
  z.object({ dry_run: z.boolean().default(true), new_state: z.enum(['success', 'failed', 'skipped']) }).strict(),
);
const NoteBody = requestBody('SetTaskInstanceNote', z.object({ note: z.string().max(1000) }).strict(), 'An empty note clears it');

const stateOf = (s: string | null) => (s === 'none' || s === null ? null : s) as TaskInstanceState;

export function taskInstanceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances',
    {
      schema: {
        params: RunParams,
        querystring: ListQuery,
        tags: ['TaskInstance'],
        summary: "Task instances of a DAG run ('~' for any DAG and/or run; state=deferred: everything deferred now)",
        response: { 200: TaskInstanceCollectionSchema, ...errors },
      },
    },
    async (req) => {
      const { dag_id, dag_run_id } = req.params as z.infer<typeof RunParams>;
      const q = req.query as z.infer<typeof ListQuery>;
      if (dag_run_id !== '~') {
        if (dag_id !== '~') await ctx.requireRun(dag_id, dag_run_id);
      } else if (dag_id !== '~') await ctx.requireDag(dag_id);
      const sort = sortFor(q.order_by, TI_ORDER, 'task_id');
      const page = await listTaskInstances(
        ctx.store,
        {
          dagId: dag_id === '~' ? undefined : dag_id,
          runId: dag_run_id === '~' ? undefined : dag_run_id,
          states: q.state?.length ? q.state.map(stateOf) : undefined,
          queues: q.queue,
          taskIds: q.task_ids?.length ? q.task_ids : undefined,
          updatedAt: { gte: q.updated_at_gte },
          startDate: { gte: q.start_date_gte, lte: q.start_date_lte },
          endDate: { gte: q.end_date_gte, lte: q.end_date_lte },
          logicalDate: { gte: q.execution_date_gte, lte: q.execution_date_lte },
          duration: { gte: q.duration_gte, lte: q.duration_lte },
        },
        { sort, offset: q.offset, limit: q.limit },
      );
      return { task_instances: await withTriggers(ctx.store, page.items), total_entries: page.total };
    },
  );

  app.post(
    '/api/v1/dags/~/dagRuns/~/taskInstances/list',
    {
      schema: {
        body: ListForm,
        tags: ['TaskInstance'],
        summary: 'List task instances across DAGs and runs, filters in the body',
        response: { 200: TaskInstanceCollectionSchema, ...errors },
      },
    },
    async (req) => {
      const f = req.body as z.infer<typeof ListForm>;
      const sort = sortFor(f.order_by, TI_ORDER, 'task_id');
      const page = await listTaskInstances(
        ctx.store,
        {
          dagIds: f.dag_ids,
          runIds: f.dag_run_ids?.length ? f.dag_run_ids : undefined,
          taskIds: f.task_ids?.length ? f.task_ids : undefined,
          states: f.state?.length ? f.state.map(stateOf) : undefined,
          queues: f.queue,
          logicalDate: { gte: f.execution_date_gte, lte: f.execution_date_lte },
          startDate: { gte: f.start_date_gte, lte: f.start_date_lte },
          endDate: { gte: f.end_date_gte, lte: f.end_date_lte },
          duration: { gte: f.duration_gte, lte: f.duration_lte },
        },
        { sort, offset: f.page_offset, limit: f.page_limit },
      );
      return { task_instances: await withTriggers(ctx.store, page.items), total_entries: page.total };
    },
  );

  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id',
    { schema: { params: TiParams, tags: ['TaskInstance'], summary: 'One task instance', response: { 200: TaskInstanceSchema, ...errors } } },
    async (req) => {
      const { dag_id, dag_run_id, task_id } = req.params as z.infer<typeof TiParams>;
      const ti = await ctx.requireTi(dag_id, dag_run_id, task_id);
      return (await withTriggers(ctx.store, [ti]))[0];
    },
  );

  app.patch(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id',
    {
      schema: {
        params: TiParams,
        body: PatchBody,
        tags: ['TaskInstance'],
        summary: 'Mark a task instance success / failed / skipped',
        response: { 200: TaskInstanceReferenceSchema, ...errors },
      },
    },
    async (req) => {
      const { dag_id, dag_run_id, task_id } = req.params as z.infer<typeof TiParams>;
      const body = req.body as z.infer<typeof PatchBody>;
      const ti = await ctx.requireTi(dag_id, dag_run_id, task_id);
      if (body.dry_run) return tiReference(ti);
      await markTaskInstances(ctx.appFor(req), [ti], body.new_state);
      return tiReference(ti);
    },
  );

  app.patch(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/setNote',
    {
      schema: {
        params: TiParams,
        body: NoteBody,
        tags: ['TaskInstance'],
        summary: 'Set the note of a task instance',
        response: { 200: TaskInstanceSchema, ...errors },
      },
    },
    async (req) => {
      const { dag_id, dag_run_id, task_id } = req.params as z.infer<typeof TiParams>;
      const { note } = req.body as z.infer<typeof NoteBody>;
      const ti = await ctx.requireTi(dag_id, dag_run_id, task_id);
      const after = (await setTaskInstanceNote(ctx.appFor(req), ti, note)) ?? (await ctx.requireTi(dag_id, dag_run_id, task_id));
      return (await withTriggers(ctx.store, [after]))[0];
    },
  );
}
