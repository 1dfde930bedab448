/**
 * /api/v1/health in Airflow's shape: metadatabase, scheduler and triggerer status from the jobs'
 * heartbeats (healthy when a running job heartbeated within the threshold), plus our workers.
 * Always 200, as in Airflow: the body says what is unhealthy. No authentication (probes).
 */
import type { FastifyInstance } from 'fastify';
import type { JobType } from '../../store/schema.ts';
import type { ApiContext } from '../api-context.ts';
import { databaseReachable, latestHeartbeat } from '../../app/queries/process-queries.ts';
import { HealthInfoSchema } from '../schemas/resources.ts';

/** Airflow's scheduler_health_check_threshold / triggerer_health_check_threshold default. */
export const HEALTH_THRESHOLD_MS = 30_000;

export function healthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/health',
    {
      schema: {
        tags: ['Monitoring'],
        summary: 'Health of the metadatabase, scheduler, triggerer, DAG processor and workers',
        response: { 200: HealthInfoSchema },
      },
    },
    async () => {
      const metadatabase: 'healthy' | 'unhealthy' = (await databaseReachable(ctx.store)) ? 'healthy' : 'unhealthy';
      const latest = async (type: JobType): Promise<Date | null> => (metadatabase === 'unhealthy' ? null : latestHeartbeat(ctx.store, type));
      const [scheduler, triggerer, worker] = await Promise.all([latest('SchedulerJob'), latest('TriggererJob'), latest('WorkerJob')]);
      const status = (d: Date | null, neverIs: 'unhealthy' | null) =>
        d ? (Date.now() - d.getTime() <= HEALTH_THRESHOLD_MS ? 'healthy' : 'unhealthy') : neverIs;
      return {
        metadatabase: { status: metadatabase },
        scheduler: { status: status(scheduler, 'unhealthy'), latest_scheduler_heartbeat: scheduler?.toISOString() ?? null },
        triggerer: { status: status(triggerer, null), latest_triggerer_heartbeat: triggerer?.toISOString() ?? null },
        // The DAG processor runs inside the scheduler (or beside it): its health is the scheduler's.
        dag_processor: { status: status(scheduler, null), latest_dag_processor_heartbeat: scheduler?.toISOString() ?? null },
        worker: { status: status(worker, null), latest_worker_heartbeat: worker?.toISOString() ?? null },
      };
    },
  );
}
