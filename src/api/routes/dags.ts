/**
 * /api/v1/dags — list, get, details, pause/unpause (one, or every DAG a filter selects: Airflow's
 * PATCH /dags), delete; /dags/{dag_id}/tasks — the task list of a DAG.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { dagIdsWithImportErrors, listDags, selectDags } from '../../app/queries/dag-queries.ts';
import { setDagPaused } from '../../app/use-cases/pause-dag.ts';
import { deleteDag } from '../../app/use-cases/delete-dag.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import type { ApiContext } from '../api-context.ts';
import { apiDag, apiDagDetail, apiTask } from '../serializers.ts';
import { boolQuery, csvList, paginationQuery, sortFor } from '../http/pagination.ts';
import { requestBody } from '../schemas/registry.ts';
import { DagCollectionSchema, DagDetailSchema, DagSchema, ProblemSchema, TaskCollectionSchema, TaskSchema } from '../schemas/resources.ts';
import { noContent } from './responses.ts';

const DagParams = z.object({ dag_id: z.string().min(1) });
const TaskParams = z.object({ dag_id: z.string().min(1), task_id: z.string().min(1) });
const filterQuery = {
  tags: csvList,
  only_active: boolQuery.default(true),
  paused: boolQuery.optional(),
  dag_id_pattern: z.string().optional().describe('Substring of the DAG id (case-insensitive)'),
};
const ListQuery = z.object({ ...paginationQuery, ...filterQuery });
const PatchQuery = z.object({ update_mask: csvList });
const BulkPatchQuery = z.object({ ...paginationQuery, ...filterQuery, update_mask: csvList });
const PatchBody = requestBody('DAGPatch', z.object({ is_paused: z.boolean() }).strict(), 'What PATCH /dags and PATCH /dags/{dag_id} change: is_paused');
const ORDER = { dag_id: 'dag_id', last_parsed_time: 'last_parsed_time', next_dagrun: 'next_dagrun', fileloc: 'fileloc', is_paused: 'is_paused' };
const errors = { default: ProblemSchema };

export function dagRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const withErrors = async (docs: Parameters<typeof apiDag>[0][]) => {
    const broken = await dagIdsWithImportErrors(ctx.store, docs);
    return docs.map((d) => apiDag(d, broken.has(d.dag_id)));
  };

  app.get(
    '/api/v1/dags',
    { schema: { querystring: ListQuery, tags: ['DAG'], summary: 'List DAGs', response: { 200: DagCollectionSchema, ...errors } } },
    async (req) => {
      const q = req.query as z.infer<typeof ListQuery>;
      const sort = sortFor(q.order_by, ORDER, 'dag_id');
      const page = await listDags(
        ctx.store,
        { activeOnly: q.only_active, paused: q.paused, tags: q.tags, idContains: q.dag_id_pattern },
        { sort, offset: q.offset, limit: q.limit },
      );
      return { dags: await withErrors(page.items), total_entries: page.total };
    },
  );

  app.patch(
    '/api/v1/dags',
    {
      schema: {
        querystring: BulkPatchQuery,
        body: PatchBody,
        tags: ['DAG'],
        summary: 'Pause or unpause every DAG the filters select (dag_id_pattern is required, as in Airflow, so this never touches all DAGs by accident)',
        response: { 200: DagCollectionSchema, ...errors },
      },
    },
    async (req) => {
      const q = req.query as z.infer<typeof BulkPatchQuery>;
      const body = req.body as z.infer<typeof PatchBody>;
      if (q.update_mask?.length && !q.update_mask.every((f) => f === 'is_paused')) {
        throw new InvalidInputError('Invalid query parameter', [{ path: 'update_mask', message: 'only is_paused can be updated' }]);
      }
      if (!q.dag_id_pattern) {
        throw new InvalidInputError('Invalid query parameter', [
          { path: 'dag_id_pattern', message: "is required: give a part of the DAG ids to change ('%' or '_' match every DAG)" },
        ]);
      }
      const pattern = q.dag_id_pattern === '%' || q.dag_id_pattern === '_' ? undefined : q.dag_id_pattern;
      const selected = await selectDags(
        ctx.store,
        { activeOnly: q.only_active, paused: q.paused, tags: q.tags, idContains: pattern },
        { sort: { dag_id: 1 }, offset: q.offset, limit: q.limit },
      );
      const actor = ctx.appFor(req);
      const changed = [];
      for (const d of selected.items) {
        const doc = await setDagPaused(actor, d.dag_id, body.is_paused);
        if (doc) changed.push(doc);
      }
      return { dags: await withErrors(changed), total_entries: changed.length };
    },
  );

  app.get(
    '/api/v1/dags/:dag_id',
    { schema: { params: DagParams, tags: ['DAG'], summary: 'Get a DAG', response: { 200: DagSchema, ...errors } } },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      return (await withErrors([await ctx.requireDag(dag_id)]))[0];
    },
  );

  app.get(
    '/api/v1/dags/:dag_id/details',
    {
      schema: {
        params: DagParams,
        querystring: z.object({ fields: csvList }),
        tags: ['DAG'],
        summary: 'Get a DAG with its details (params as Airflow serializes them, timezone, catchup, version)',
        response: { 200: DagDetailSchema, ...errors },
      },
    },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const dag = await ctx.requireDag(dag_id);
      const broken = await dagIdsWithImportErrors(ctx.store, [dag]);
      return apiDagDetail(dag, broken.has(dag_id));
    },
  );

  app.patch(
    '/api/v1/dags/:dag_id',
    {
      schema: {
        params: DagParams,
        querystring: PatchQuery,
        body: PatchBody,
        tags: ['DAG'],
        summary: 'Pause or unpause a DAG',
        response: { 200: DagSchema, ...errors },
      },
    },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const body = req.body as z.infer<typeof PatchBody>;
      const doc = await setDagPaused(ctx.appFor(req), dag_id, body.is_paused);
      if (!doc) throw new NotFoundError('DAG_NOT_FOUND', `DAG with dag_id: '${dag_id}' not found`);
      return (await withErrors([doc]))[0];
    },
  );

  app.delete(
    '/api/v1/dags/:dag_id',
    {
      schema: {
        params: DagParams,
        tags: ['DAG'],
        summary:
          'Delete a DAG with its runs, task instances, XComs, logs and triggers (the audit log is kept; a DAG file still in a DAGs folder brings it back)',
        response: { 204: noContent('Deleted'), ...errors },
      },
    },
    async (req, reply) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      if (!(await deleteDag(ctx.appFor(req), dag_id))) throw new NotFoundError('DAG_NOT_FOUND', `DAG with dag_id: '${dag_id}' not found`);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/dags/:dag_id/tasks',
    {
      schema: {
        params: DagParams,
        querystring: z.object({ order_by: z.string().optional() }),
        tags: ['DAG'],
        summary: 'Tasks of a DAG',
        response: { 200: TaskCollectionSchema, ...errors },
      },
    },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const { order_by } = req.query as { order_by?: string };
      const dag = await ctx.requireDag(dag_id);
      const tasks = dag.tasks.map((t) => apiTask(t, dag.owners[0] ?? 'airflow'));
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

  app.get(
    '/api/v1/dags/:dag_id/tasks/:task_id',
    { schema: { params: TaskParams, tags: ['DAG'], summary: 'One task of a DAG', response: { 200: TaskSchema, ...errors } } },
    async (req) => {
      const { dag_id, task_id } = req.params as z.infer<typeof TaskParams>;
      const dag = await ctx.requireDag(dag_id);
      const t = dag.tasks.find((x) => x.task_id === task_id);
      if (!t) throw new NotFoundError('TASK_NOT_FOUND', `Task with id '${task_id}' not found in DAG '${dag_id}'`);
      return apiTask(t, dag.owners[0] ?? 'airflow');
    },
  );
}
