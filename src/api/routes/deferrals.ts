/**
 * /api/v1/deferrals — deferflow's operator view: every deferred task instance with what it waits
 * on (trigger kind, external job and its last known status, as the triggerers record it on the
 * trigger row), since when, its deadline and owning triggerer (id, host, pid); and totals:
 * deferred now and the oldest deferral, worker slot-seconds saved, event→resume latency p50/p99,
 * events by outcome (not ours vs malformed) and lost events recovered by the reconcile sweep. The
 * figures are summed over every process's stored snapshot (src/metrics/snapshot.ts) plus this
 * process's own registry, so they survive restarts and count triggerers running elsewhere.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { JobDoc, MetricsSnapshotDoc } from '../../store/schema.ts';
import { deferralCounts, listDeferred, triggersAndOwners } from '../../app/queries/deferral-queries.ts';
import type { ApiContext } from '../api-context.ts';
import { paginationQuery, sortFor } from '../http/pagination.ts';
import { HEALTH_THRESHOLD_MS } from './health.ts';
import { otherSnapshots } from '../../app/queries/metrics-snapshot-queries.ts';
import { readFigures, snapshotIdFor } from '../../metrics/snapshot.ts';
import type { TriggerWithStatus } from '../serializers.ts';
import { DeferralCollectionSchema, ProblemSchema, type ApiDeferral, type DeferralTotals } from '../schemas/resources.ts';
import { quantilesFromBuckets } from '../metrics/registry-readings.ts';

export type { ApiDeferral, DeferralTotals };

const Query = z.object({ ...paginationQuery, dag_id: z.string().optional() });
const ORDER = { deferred_at: 'deferred_at', dag_id: 'dag_id', task_id: 'task_id', trigger_timeout: 'trigger_timeout' };

function statusOf(trig: TriggerWithStatus | undefined, job: JobDoc | undefined, alive: boolean): string {
  if (!trig) return 'trigger missing';
  if (trig.last_status) return trig.last_secondary_status ? `${trig.last_status} (${trig.last_secondary_status})` : trig.last_status;
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
  app.get(
    '/api/v1/deferrals',
    {
      schema: {
        querystring: Query,
        tags: ['Deferral'],
        summary: 'Deferred task instances and deferral totals',
        response: { 200: DeferralCollectionSchema, default: ProblemSchema },
      },
    },
    async (req) => {
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
          job_status: trig?.last_status ?? null,
          job_secondary_status: trig?.last_secondary_status ?? null,
          job_status_seen_at: trig?.last_seen_at?.toISOString() ?? null,
          deferred_at: ti.deferred_at?.toISOString() ?? null,
          deferred_for_ms: ti.deferred_at ? now - ti.deferred_at.getTime() : null,
          deadline: deadline?.toISOString() ?? null,
          triggerer: trig?.triggerer_id
            ? {
                id: trig.triggerer_id,
                hostname: job?.hostname ?? null,
                pid: job?.pid ?? null,
                alive,
                latest_heartbeat: job?.latest_heartbeat.toISOString() ?? null,
              }
            : null,
          next_method: ti.next_method,
        };
      });

      return { deferrals, total_entries: total, totals };
    },
  );
}

async function computeTotals(ctx: ApiContext): Promise<DeferralTotals> {
  const now = Date.now();
  const [counts, figures] = await Promise.all([deferralCounts(ctx.store, HEALTH_THRESHOLD_MS, now), allFigures(ctx)]);
  const finishedMs = counts.finishedDeferredMs;
  const since = counts.ongoingSince.filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
  const ongoingMs = since.reduce((s, at) => s + Math.max(0, now - at), 0);
  return {
    deferred_now: counts.ongoingSince.length,
    oldest_deferral_ms: since.length ? now - Math.min(...since) : null,
    unclaimed_triggers: counts.unclaimedTriggers,
    worker_slot_seconds_saved: Math.round(finishedMs + ongoingMs) / 1000,
    worker_slot_seconds_saved_finished: Math.round(finishedMs) / 1000,
    event_to_resume_latency_ms: figures.latency,
    lost_events_recovered_by_sweep: figures.recovered,
    events: figures.events,
    live_triggerers: counts.liveTriggerers,
  };
}

const LATENCY = 'deferflow_event_resume_latency_seconds';

/**
 * This process's figures (live) plus every other process's last stored ones. A figure no process
 * has ever reported is null, never 0; `since` is when the oldest process counted began.
 */
async function allFigures(ctx: ApiContext) {
  const own = await readFigures(ctx.metricsRegistry);
  const others = await otherSnapshots(ctx.store, snapshotIdFor(ctx.metricsRegistry));
  const readings: Array<Pick<MetricsSnapshotDoc, 'histograms' | 'counters'> & { started_at: Date | null }> = [
    { ...own, started_at: PROCESS_STARTED },
    ...others,
  ];
  const buckets = new Map<number, number>();
  let count = 0;
  let since: number | null = null;
  let anyLatency = false;
  const counter = (name: string, labels?: RegExp): number | null => {
    let total: number | null = null;
    for (const r of readings) for (const v of r.counters[name] ?? []) if (!labels || labels.test(v.labels)) total = (total ?? 0) + v.value;
    return total;
  };
  for (const r of readings) {
    const h = r.histograms[LATENCY];
    if (!h) continue;
    anyLatency = true;
    count += h.count;
    for (const b of h.buckets) {
      const le = b.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.le);
      buckets.set(le, (buckets.get(le) ?? 0) + b.count);
    }
    if (r.started_at && h.count > 0) since = Math.min(since ?? Number.POSITIVE_INFINITY, r.started_at.getTime());
  }
  const [p50, p99] = quantilesFromBuckets(buckets, count, [0.5, 0.99]);
  const ms = (v: number | null | undefined) => (v == null ? null : Math.round(v * 1_000_000) / 1000);
  return {
    latency: {
      p50: ms(p50),
      p99: ms(p99),
      count,
      source: anyLatency ? LATENCY : null,
      since: since === null ? null : new Date(since).toISOString(),
    },
    recovered: counter('deferflow_reconcile_jobs_recovered_total'),
    events: {
      received: counter('deferflow_events_received_total') ?? 0,
      resumed: counter('deferflow_tasks_resumed_total', /outcome=event/) ?? 0,
      duplicate: counter('deferflow_events_duplicate_total') ?? 0,
      not_ours: counter('deferflow_events_unroutable_total') ?? 0,
      malformed: counter('deferflow_events_malformed_total') ?? 0,
    },
  };
}

const PROCESS_STARTED = new Date();
