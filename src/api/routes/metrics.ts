/**
 * GET /metrics — Prometheus text format: the process's registry (runtime, triggerer, scheduler
 * metrics when they run in this process, plus src/metrics' store gauges: deferred tasks, slot-seconds
 * saved, triggers by owner) followed by the webserver's own gauges computed from MongoDB on scrape,
 * the deferral ages among them (src/metrics/process-metrics.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ApiContext } from '../api-context.ts';
import { databaseGauges } from '../metrics/database-gauges.ts';
import { registerStoreMetrics } from '../../metrics/store-metrics.ts';
import { countTriggersByOwnership } from '../../store/repositories/trigger-owners.ts';
import { textResponse } from './responses.ts';
import { registerDeferralAgeMetrics } from '../../metrics/process-metrics.ts';

export function metricsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  registerStoreMetrics(ctx.store, () => countTriggersByOwnership(ctx.store), ctx.metricsRegistry);
  const dbRegistry: Registry = databaseGauges(ctx.store);
  // Cluster-wide deferral ages (oldest, histogram-shaped buckets) for alerts, as the triggerers serve them.
  registerDeferralAgeMetrics(ctx.store, dbRegistry);
  app.get(
    '/metrics',
    { schema: { tags: ['Monitoring'], summary: 'Prometheus metrics', response: { 200: textResponse('Prometheus text exposition format', 'text/plain') } } },
    async (_req, reply) => {
      const [own, db] = await Promise.all([ctx.metricsRegistry.metrics(), dbRegistry.metrics()]);
      return reply.type(ctx.metricsRegistry.contentType).send(`${own.trimEnd()}\n${db}`);
    },
  );
}
