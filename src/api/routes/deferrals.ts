/**
 * /api/v1/deferrals — deferflow's operator view: every deferred task instance with what it waits
 * on (trigger kind, external job), its status, since when, its deadline and owning triggerer; and
 * totals: deferred now, worker slot-seconds saved, event→resume latency p50/p99 and lost events
 * recovered by the reconcile sweep (the last two from the triggerer's metrics in this process's
 * registry — standalone / embedded — else null: a separate webserver cannot see another process's
 * histogram).
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { JobDoc, TriggerDoc } from '../../store/schema.ts';
import { deferralCounts, listDeferred, triggersAndOwners } from '../../app/queries/deferral-queries.ts';
import type { ApiContext } from '../api-context.ts';
import { paginationQuery, sortFor } from '../http/pagination.ts';
import { counterSum, findMetric, histogramQuantiles } from '../metrics/registry-readings.ts';
import { HEALTH_THRESHOLD_MS } from './health.ts';

const Query = z.object({ ...paginationQuery, dag_id: z.string().optional() });
const ORDER = { deferred_at: 'deferred_at', dag_id: 'dag_id', task_id: 'task_id', trigger_timeout: 'trigger_timeout' };

/** Fields a triggerer may add to a trigger row to report what the watched job is doing. */
type TriggerWithStatus = TriggerDoc & { last_status?: string | null; last_event_at?: Date | null };

export interface ApiDeferral {
  dag_id: string;
  dag_run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  trigger_id: string | null;
  trigger_kind: string | null;
  external_job: string | null;
  status: string;
  deferred_at: string | null;
  deferred_for_ms: number | null;
  deadline: string | null;
  triggerer: { id: string; hostname: string | null; alive: boolean; latest_heartbeat: string | null } | null;
  next_method: string | null;
}

export interface DeferralTotals {
  deferred_now: number;
  unclaimed_triggers: number;
  worker_slot_seconds_saved: number;
  worker_slot_seconds_saved_finished: number;
  event_to_resume_latency_ms: { p50: number | null; p99: number | null; count: number; source: string | null };
  lost_events_recovered_by_sweep: number | null;
  live_triggerers: number;
}

function statusOf(trig: TriggerWithStatus | undefined, job: JobDoc | undefined, alive: boolean): string {
  if (!trig) return 'trigger missing';
  if (trig.last_status) return trig.last_status;
  if (!trig.triggerer_id) return 'waiting for a triggerer';
  if (!job || !alive) return 'triggerer lost — awaiting adoption';
  return 'waiting for event';
}

function earliest(...ds: Array<Date | null | undefined>): Date | null {
  const xs = ds.filter((d): d is Date => d instanceof Date);
  return xs.length ? new Date(Math.min(...xs.map((d) => d.getTime()))) : null;
}

/** Totals read every deferred row's deferred_at; with 100k deferrals and live pages polling, compute them at most this often. */
const TOTALS_TTL_MS = 2000;

export function deferralRoutes(app: FastifyInstance, ctx: ApiContext): void {
  let cached: { at: number; totals: Promise<DeferralTotals> } | null = null;
  const totalsOnce = (): Promise<DeferralTotals> => {
    if (!cached || Date.now() - cached.at > TOTALS_TTL_MS) {
      const totals = computeTotals(ctx);
      cached = { at: Date.now(), totals };
      totals.catch(() => (cached = null));
    }
    return cached.totals;
  };
  app.get('/api/v1/deferrals', { schema: { querystring: Query, tags: ['Deferral'], summary: 'Deferred task instances and deferral totals' } }, async (req) => {
    const q = req.query as z.infer<typeof Query>;
    const now = Date.now();
    const sort = sortFor(q.order_by, ORDER, 'deferred_at');
    const [page, totals] = await Promise.all([listDeferred(ctx.store, { dagId: q.dag_id }, { sort, offset: q.offset, limit: q.limit }), totalsOnce()]);
    const tis = page.items;
    const total = page.total;
    const triggerIds = tis.map((t) => t.trigger_id).filter((x): x is string => Boolean(x));
    const { triggers, owners: jobs } = await triggersAndOwners<TriggerWithStatus>(ctx.store, triggerIds);
    const trigById = new Map(triggers.map((t) => [t._id, t]));
    const jobById = new Map(jobs.map((j) => [j._id, j]));

    const deferrals: ApiDeferral[] = tis.map((ti) => {
      const trig = ti.trigger_id ? trigById.get(ti.trigger_id) : undefined;
      const job = trig?.triggerer_id ? jobById.get(trig.triggerer_id) : undefined;
      const alive = Boolean(job && job.state === 'running' && now - job.latest_heartbeat.getTime() <= HEALTH_THRESHOLD_MS);
      const deadline = earliest(ti.trigger_timeout, trig?.deadline, ti.execution_deadline);
      return {
        dag_id: ti.dag_id,
        dag_run_id: ti.run_id,
        task_id: ti.task_id,
        map_index: ti.map_index,
        try_number: ti.try_number,
        trigger_id: ti.trigger_id,
        trigger_kind: trig?.kind ?? null,
        external_job: trig?.description ?? null,
        status: statusOf(trig, job, alive),
        deferred_at: ti.deferred_at?.toISOString() ?? null,
        deferred_for_ms: ti.deferred_at ? now - ti.deferred_at.getTime() : null,
        deadline: deadline?.toISOString() ?? null,
        triggerer: trig?.triggerer_id
          ? { id: trig.triggerer_id, hostname: job?.hostname ?? null, alive, latest_heartbeat: job?.latest_heartbeat.toISOString() ?? null }
          : null,
        next_method: ti.next_method,
      };
    });

    return { deferrals, total_entries: total, totals };
  });
}

async function computeTotals(ctx: ApiContext): Promise<DeferralTotals> {
  const now = Date.now();
  const [counts, latencyMs, recoveredCount] = await Promise.all([deferralCounts(ctx.store, HEALTH_THRESHOLD_MS, now), latency(ctx), recovered(ctx)]);
  const finishedMs = counts.finishedDeferredMs;
  const ongoingMs = counts.ongoingSince.reduce((s, at) => s + (at ? Math.max(0, now - at.getTime()) : 0), 0);
  const liveTriggerers = counts.liveTriggerers;
  return {
    deferred_now: counts.ongoingSince.length,
    unclaimed_triggers: counts.unclaimedTriggers,
    worker_slot_seconds_saved: Math.round(finishedMs + ongoingMs) / 1000,
    worker_slot_seconds_saved_finished: Math.round(finishedMs) / 1000,
    event_to_resume_latency_ms: latencyMs,
    lost_events_recovered_by_sweep: recoveredCount,
    live_triggerers: liveTriggerers,
  };
}

/** Names from src/metrics/triggerer-metrics.ts. */
const LATENCY_METRIC = /^deferflow_event_resume_latency_seconds$/;
const RECOVERED_METRIC = /^deferflow_reconcile_jobs_recovered_total$/;

async function latency(ctx: ApiContext): Promise<DeferralTotals['event_to_resume_latency_ms']> {
  const h = await findMetric(ctx.metricsRegistry, 'histogram', LATENCY_METRIC);
  if (!h) return { p50: null, p99: null, count: 0, source: null };
  const { count, quantiles } = histogramQuantiles(h, [0.5, 0.99]);
  const scale = /seconds$/.test(h.name) ? 1000 : 1;
  const ms = (v: number | null | undefined) => (v == null ? null : Math.round(v * scale * 1000) / 1000);
  return { p50: ms(quantiles[0]), p99: ms(quantiles[1]), count, source: h.name };
}

async function recovered(ctx: ApiContext): Promise<number | null> {
  const c = await findMetric(ctx.metricsRegistry, 'counter', RECOVERED_METRIC);
  return c ? counterSum(c) : null;
}
