/**
 * Airflow's bulk endpoints: POST /dags/{dag_id}/clearTaskInstances and
 * POST /dags/{dag_id}/updateTaskInstancesState. Both default to dry_run=true, as in Airflow.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Filter } from 'mongodb';
import type { TaskInstanceDoc } from '../../store/schema.ts';
import type { ApiContext } from '../api-context.ts';
import { tiReference } from '../serializers.ts';
import { clearTaskInstances, markTaskInstances, relatives } from '../task-instance-actions.ts';

const DagParams = z.object({ dag_id: z.string().min(1) });
const ClearBody = z
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
  .strict();
const SetStateBody = z
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
  .strict();

export function taskInstanceBulkRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post(
    '/api/v1/dags/:dag_id/clearTaskInstances',
    { schema: { params: DagParams, body: ClearBody, tags: ['TaskInstance'], summary: 'Clear task instances' } },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const b = req.body as z.infer<typeof ClearBody>;
      const dag = await ctx.requireDag(dag_id);
      const filter: Filter<TaskInstanceDoc> = { dag_id };
      if (b.dag_run_id) {
        await ctx.requireRun(dag_id, b.dag_run_id);
        filter.run_id = b.dag_run_id;
      }
      if (b.task_ids) {
        const ids = new Set(b.task_ids);
        if (b.include_downstream) for (const t of relatives(dag, b.task_ids, 'downstream')) ids.add(t);
        if (b.include_upstream) for (const t of relatives(dag, b.task_ids, 'upstream')) ids.add(t);
        filter.task_id = { $in: [...ids] };
      }
      if (b.start_date || b.end_date)
        filter.logical_date = { ...(b.start_date ? { $gte: new Date(b.start_date) } : {}), ...(b.end_date ? { $lte: new Date(b.end_date) } : {}) };
      if (b.only_failed) filter.state = { $in: ['failed', 'upstream_failed'] };
      if (b.only_running) filter.state = { $in: ['running', 'deferred'] };
      const tis = await ctx.store.taskInstances.find(filter).sort({ run_id: 1, task_id: 1 }).toArray();
      const affected = b.dry_run ? tis : await clearTaskInstances(ctx, dag, tis, { resetDagRuns: b.reset_dag_runs });
      return { task_instances: affected.map(tiReference) };
    },
  );

  app.post(
    '/api/v1/dags/:dag_id/updateTaskInstancesState',
    { schema: { params: DagParams, body: SetStateBody, tags: ['TaskInstance'], summary: 'Mark task instances success / failed / skipped' } },
    async (req) => {
      const { dag_id } = req.params as z.infer<typeof DagParams>;
      const b = req.body as z.infer<typeof SetStateBody>;
      const dag = await ctx.requireDag(dag_id);
      await ctx.requireTi(dag_id, b.dag_run_id, b.task_id);
      const ids = new Set([b.task_id]);
      if (b.include_downstream) for (const t of relatives(dag, [b.task_id], 'downstream')) ids.add(t);
      if (b.include_upstream) for (const t of relatives(dag, [b.task_id], 'upstream')) ids.add(t);
      const runFilter = b.include_future || b.include_past ? await runsAround(ctx, dag_id, b.dag_run_id, b.include_past, b.include_future) : [b.dag_run_id];
      const tis = await ctx.store.taskInstances.find({ dag_id, run_id: { $in: runFilter }, task_id: { $in: [...ids] }, state: { $ne: b.new_state } }).toArray();
      const affected = b.dry_run ? tis : await markTaskInstances(ctx, tis, b.new_state);
      return { task_instances: affected.map(tiReference) };
    },
  );
}

async function runsAround(ctx: ApiContext, dagId: string, runId: string, past: boolean, future: boolean): Promise<string[]> {
  const run = await ctx.requireRun(dagId, runId);
  const cond = past && future ? {} : past ? { logical_date: { $lte: run.logical_date } } : { logical_date: { $gte: run.logical_date } };
  const runs = await ctx.store.dagRuns.find({ dag_id: dagId, ...cond }, { projection: { run_id: 1 } }).toArray();
  return runs.map((r) => r.run_id);
}
