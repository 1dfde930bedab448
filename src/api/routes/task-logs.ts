/**
 * GET …/taskInstances/{task_id}/logs/{task_try_number}: the lines of one try, from the task_logs
 * collection (written by any worker). JSON (`{content, continuation_token}`) or text/plain by
 * Accept, as in Airflow. Tailing: pass the returned continuation_token back as `token` to get only
 * the lines written since — the UI polls this while a task runs or is deferred.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { taskInstanceId, type TaskLogDoc } from '../../store/schema.ts';
import { TaskLogRepository } from '../../store/repositories/task-log-repository.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import type { ApiContext } from '../api-context.ts';
import { boolQuery } from '../http/pagination.ts';
import { LogContentSchema, ProblemSchema } from '../schemas/resources.ts';

const Params = z.object({
  dag_id: z.string().min(1),
  dag_run_id: z.string().min(1),
  task_id: z.string().min(1),
  task_try_number: z.coerce.number().int().min(0),
});
const Query = z.object({
  token: z.string().optional(),
  full_content: boolQuery.optional(),
  map_index: z.coerce.number().int().min(-1).default(-1),
  /** Page size; a tail asks again with the token for the rest. */
  limit: z.coerce.number().int().min(1).max(10_000).default(5000),
});

export function encodeToken(seq: number): string {
  return Buffer.from(JSON.stringify({ seq }), 'utf8').toString('base64url');
}

export function decodeToken(token: string | undefined): number {
  if (!token) return -1;
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { seq?: unknown };
    if (typeof v.seq === 'number' && Number.isInteger(v.seq)) return v.seq;
  } catch {
    /* fall through to the 400 */
  }
  throw new InvalidInputError('Invalid query parameter', [{ path: 'token', message: 'not a continuation_token returned by this endpoint' }]);
}

export function formatLogLine(l: TaskLogDoc): string {
  return `[${l.ts.toISOString()}] {${l.level.toUpperCase()}} ${l.msg}`;
}

export function taskLogRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/dags/:dag_id/dagRuns/:dag_run_id/taskInstances/:task_id/logs/:task_try_number',
    {
      schema: {
        params: Params,
        querystring: Query,
        tags: ['TaskInstance'],
        summary: 'Logs of one try (tail with continuation_token); Accept: text/plain gives the lines as text',
        response: {
          200: z.union([LogContentSchema, z.string()]).describe('The lines of the try (JSON, or text/plain when only that is accepted)'),
          default: ProblemSchema,
        },
      },
    },
    async (req, reply) => {
      const p = req.params as z.infer<typeof Params>;
      const q = req.query as z.infer<typeof Query>;
      const ti = await ctx.requireTi(p.dag_id, p.dag_run_id, p.task_id, q.map_index);
      const after = decodeToken(q.token);
      const lines = await new TaskLogRepository(ctx.store).read(taskInstanceId(p.dag_id, p.dag_run_id, p.task_id, q.map_index), p.task_try_number, {
        afterSeq: after,
        limit: q.limit,
      });
      const last = lines.length ? lines[lines.length - 1]!.seq : after;
      const content = lines.map(formatLogLine).join('\n');
      const token = encodeToken(last);
      const accept = req.headers.accept ?? '';
      if (accept.includes('text/plain') && !accept.includes('application/json')) {
        return reply
          .type('text/plain; charset=utf-8')
          .header('x-continuation-token', token)
          .send(content + (content ? '\n' : ''));
      }
      return {
        content,
        continuation_token: token,
        lines: lines.map((l) => ({ seq: l.seq, ts: l.ts.toISOString(), level: l.level, msg: l.msg })),
        /** True while more lines may still come (the try is running or deferred). */
        live: ti.try_number === p.task_try_number && ['running', 'deferred', 'queued', 'scheduled', 'up_for_reschedule'].includes(ti.state ?? ''),
      };
    },
  );
}
