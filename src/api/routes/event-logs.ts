/**
 * /api/v1/eventLogs — the audit log in Airflow's shape: who triggered, cleared, marked, paused,
 * deleted, noted, or changed a variable or connection, and when (written by the use-cases).
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { getEventLog, listEventLogs } from '../../app/queries/event-log-queries.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { ApiContext } from '../api-context.ts';
import { apiEventLog } from '../serializers.ts';
import { csvList, isoDate, paginationQuery, sortFor } from '../http/pagination.ts';
import { EventLogCollectionSchema, EventLogSchema, ProblemSchema } from '../schemas/resources.ts';

const Query = z.object({
  ...paginationQuery,
  dag_id: z.string().optional(),
  task_id: z.string().optional(),
  run_id: z.string().optional(),
  map_index: z.coerce.number().int().optional(),
  try_number: z.coerce.number().int().optional(),
  event: z.string().optional(),
  owner: z.string().optional(),
  before: isoDate.optional(),
  after: isoDate.optional(),
  included_events: csvList.describe('Only these events (comma-separated)'),
  excluded_events: csvList.describe('Not these events (comma-separated)'),
});
const ORDER = { event_log_id: '_id', when: 'dttm', dag_id: 'dag_id', task_id: 'task_id', run_id: 'run_id', event: 'event', owner: 'owner' };
const errors = { default: ProblemSchema };

export function eventLogRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/eventLogs',
    {
      schema: {
        querystring: Query,
        tags: ['EventLog'],
        summary: 'The audit log, newest first by default',
        response: { 200: EventLogCollectionSchema, ...errors },
      },
    },
    async (req) => {
      const q = req.query as z.infer<typeof Query>;
      const sort = sortFor(q.order_by, ORDER, '-event_log_id');
      const page = await listEventLogs(
        ctx.store,
        {
          dagId: q.dag_id,
          taskId: q.task_id,
          runId: q.run_id,
          mapIndex: q.map_index,
          tryNumber: q.try_number,
          event: q.event,
          owner: q.owner,
          before: q.before,
          after: q.after,
          includedEvents: q.included_events?.length ? q.included_events : undefined,
          excludedEvents: q.excluded_events?.length ? q.excluded_events : undefined,
        },
        { sort, offset: q.offset, limit: q.limit },
      );
      return { event_logs: page.items.map(apiEventLog), total_entries: page.total };
    },
  );

  app.get(
    '/api/v1/eventLogs/:event_log_id',
    {
      schema: {
        params: z.object({ event_log_id: z.coerce.number().int() }),
        tags: ['EventLog'],
        summary: 'One audit log entry',
        response: { 200: EventLogSchema, ...errors },
      },
    },
    async (req) => {
      const { event_log_id } = req.params as { event_log_id: number };
      const doc = await getEventLog(ctx.store, event_log_id);
      if (!doc) throw new NotFoundError('NOT_FOUND', `Event log entry ${event_log_id} not found`);
      return apiEventLog(doc);
    },
  );
}
