/**
 * …/taskInstances/{task_id}/tries and …/tries/{task_try_number}: every try of a task instance
 * (Airflow 2.10's task instance history), with when each was queued, started and ended, on which
 * worker, and where it waited deferred — read from the row's own history (src/store/task-instance-history.ts).
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { ApiContext } from '../api-context.ts';
import { apiTaskInstanceTries } from '../serializers.ts';
import { paginationQuery } from '../http/pagination.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { ProblemSchema, TaskInstanceTryCollectionSchema, TaskInstanceTrySchema } from '../schemas/resources.ts';

const TiParams = z.object({ dag_id: z.string().min(1), dag_run_id: z.string().min(1), task_id: z.string().min(1) });
const TryParams = TiParams.extend({ task_try_number: z.coerce.number().int().min(1) });
const Query = z.object({ ...paginationQuery, map_index: z.coerce.number().int().min(-1).default(-1) });
const errors = { default: ProblemSchema };

export function taskInstanceTryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/tries',
    {
      schema: {
        params: TiParams,
        querystring: Query,
        tags: ['TaskInstance'],
        summary: 'Every try of a task instance, oldest first, with its deferral windows',
        response: { 200: TaskInstanceTryCollectionSchema, ...errors },
      },
    },
    async (req) => {
      const p = req.params as z.infer<typeof TiParams>;
      const q = req.query as z.infer<typeof Query>;
      const desc = q.order_by === '-try_number';
      if (q.order_by && !['try_number', '-try_number'].includes(q.order_by)) {
        throw new InvalidInputError('Invalid query parameter', [{ path: 'order_by', message: 'use try_number or -try_number' }]);
      }
      const tries = apiTaskInstanceTries(await ctx.requireTi(p.dag_id, p.dag_run_id, p.task_id, q.map_index));
      if (desc) tries.reverse();
      return { task_instances: tries.slice(q.offset, q.offset + q.limit), total_entries: tries.length };
    },
  );

  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/tries/:task_try_number',
    { schema: { params: TryParams, tags: ['TaskInstance'], summary: 'One try of a task instance', response: { 200: TaskInstanceTrySchema, ...errors } } },
    async (req) => {
      const p = req.params as z.infer<typeof TryParams>;
      const ti = await ctx.requireTi(p.dag_id, p.dag_run_id, p.task_id);
      const t = apiTaskInstanceTries(ti).find((x) => x.try_number === p.task_try_number);
      if (!t)
        throw new NotFoundError(
          'TASK_INSTANCE_NOT_FOUND',
          `Task instance '${p.task_id}' of run '${p.dag_run_id}' has no try ${p.task_try_number} (it has ${ti.try_number})`,
        );
      return t;
    },
  );
}
