/**
 * Airflow's bulk endpoints: POST /dags/{dag_id}/clearTaskInstances and
 * POST /dags/{dag_id}/updateTaskInstancesState. Both default to dry_run=true, as in Airflow.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { TaskInstanceState } from '../../store/schema.ts';
import { clearTaskInstances, FAILED_STATES, selectTaskInstancesToClear } from '../../app/use-cases/clear-task-instances.ts';
import { markTaskInstances, selectTaskInstancesToMark } from '../../app/use-cases/mark-task-instances.ts';
import type { ApiContext } from '../api-context.ts';
import { tiReference } from '../serializers.ts';
import { requestBody } from '../schemas/registry.ts';
import { ProblemSchema, TaskInstanceReferenceCollectionSchema } from '../schemas/resources.ts';

/** The API's only_running: a deferred task is running from the user's point of view (the CLI's --only-running takes `running` alone). */
const RUNNING_STATES: TaskInstanceState[] = ['running', 'deferred'];

const DagParams = z.object({ dag_id: z.string().min(1) });
const ClearBody = requestBody(
  'ClearTaskInstances',
  z
    .object({
      dry_run: z.boolean().default(true),
      task_ids: z.array(z.string().min(1)).min(1).optional(),
      dag_run_id: z.string().min(1).optional(),
      start_date: z.iso.datetime({ offset: true }).optional(),
      end_date: z.iso.datetime({ offset: true }).optional(),
      only_failed: z.boolean().default(true),
      only_running: z.boolean().default(false),
      include_upstream: z.boolean().default(false),
      include_downstream: z.boolean().default(false),
      reset_dag_runs: z.boolean().default(true),
    })
    .strict(),
);
const SetStateBody = requestBody(
  'UpdateTaskInstancesState',
  z
    .object({
      dry_run: z.boolean().default(true),
      task_id: z.string().min(1),
      dag_run_id: z.string().min(1),
      new_state: z.enum(['success', 'failed', 'skipped']),
      include_upstream: z.boolean().default(false),
      include_downstream: z.boolean().default(false),
      include_future: z.boolean().default(false),
      include_past: z.boolean().default(false),
    })
    .strict(),
);

export function taskInstanceBulkRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post(
    '/api/v1/dags/:dag_id/clearTaskInstances',
    {
      schema: {
        params: DagParams,
        body: ClearBody,
        tags: ['TaskInstance'],
        summary: 'Clear task instances',
        response: { 200: TaskInstanceReferenceCollectionSchema, default: ProblemSchema },
      },
    },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const b = req.body as z.infer<typeof ClearBody>;
      const storedDag = await ctx.requireDag(dag_id);
      if (b.dag_run_id) await ctx.requireRun(dag_id, b.dag_run_id);
      const actor = ctx.appFor(req);
      const { dag, tis } = await selectTaskInstancesToClear(actor, {
        dagId: dag_id,
        storedDag,
        runId: b.dag_run_id,
        taskIds: b.task_ids,
        includeUpstream: b.include_upstream,
        includeDownstream: b.include_downstream,
        logicalDate: { gte: b.start_date ? new Date(b.start_date) : undefined, lte: b.end_date ? new Date(b.end_date) : undefined },
        // only_running wins over only_failed, as before
        states: b.only_running ? RUNNING_STATES : b.only_failed ? FAILED_STATES : undefined,
        orderBy: 'run_id',
      });
      const affected = b.dry_run ? tis : await clearTaskInstances(actor, dag, tis, { resetDagRuns: b.reset_dag_runs });
      return { task_instances: affected.map(tiReference) };
    },
  );

  app.post(
    '/api/v1/dags/:dag_id/updateTaskInstancesState',
    {
      schema: {
        params: DagParams,
        body: SetStateBody,
        tags: ['TaskInstance'],
        summary: 'Mark task instances success / failed / skipped',
        response: { 200: TaskInstanceReferenceCollectionSchema, default: ProblemSchema },
      },
    },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const b = req.body as z.infer<typeof SetStateBody>;
      const dag = await ctx.requireDag(dag_id);
      await ctx.requireTi(dag_id, b.dag_run_id, b.task_id);
      const tis = await selectTaskInstancesToMark(ctx.app, {
        dag,
        runId: b.dag_run_id,
        taskId: b.task_id,
        newState: b.new_state,
        includeUpstream: b.include_upstream,
        includeDownstream: b.include_downstream,
        includePast: b.include_past,
        includeFuture: b.include_future,
      });
      const affected = b.dry_run ? tis : await markTaskInstances(ctx.appFor(req), tis, b.new_state);
      return { task_instances: affected.map(tiReference) };
    },
  );
}
