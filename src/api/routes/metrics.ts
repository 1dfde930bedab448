/**
 * GET /metrics — Prometheus text format: the process's registry (runtime, triggerer, scheduler
 * metrics when they run in this process; prom-client's default registry otherwise) followed by
 * the cluster-wide gauges computed from MongoDB on scrape.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ApiContext } from '../api-context.ts';
import { databaseGauges } from '../metrics/database-gauges.ts';

export function metricsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const dbRegistry: Registry = databaseGauges(ctx.store);
  app.get('/metrics', { schema: { tags: ['Monitoring'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const [own, db] = await Promise.all([ctx.metricsRegistry.metrics(), dbRegistry.metrics()]);
    return reply.type(ctx.metricsRegistry.contentType).send(`${own.trimEnd()}\n${db}`);
  });
}
