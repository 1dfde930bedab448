/**
 * The metrics each kind of process adds to its registry when it serves /metrics: the scheduler's
 * loop (through its SchedulerMetrics hooks), the worker's slots, the triggerer's held triggers —
 * and, where triggers are held, the age of every deferral now (computed from MongoDB at scrape
 * time): the oldest one, and how many are at most N seconds old, as a histogram-shaped gauge set
 * (`deferflow_deferral_age_seconds_bucket{le}`, `_count`, `_sum`), so `histogram_quantile` works on
 * it and "deferred for more than N hours" is an alert:
 *   deferflow_deferral_age_seconds_count - deferflow_deferral_age_seconds_bucket{le="14400"} > 0
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Store } from '../store/store.ts';
import type { SchedulerMetrics } from './scheduler-metrics.ts';
import { getOrCreate } from './registry.ts';

/** Upper bounds (seconds) of the deferral-age buckets: a minute to a week. */
export const DEFERRAL_AGE_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800];

/** The ages (seconds) of the deferrals now, bucketed as a Prometheus histogram (cumulative). */
export function ageBuckets(agesS: number[]): { buckets: Array<{ le: string; count: number }>; count: number; sum: number } {
  const buckets = DEFERRAL_AGE_BUCKETS.map((le) => ({ le: String(le), count: agesS.filter((a) => a <= le).length }));
  buckets.push({ le: '+Inf', count: agesS.length });
  return { buckets, count: agesS.length, sum: agesS.reduce((s, a) => s + a, 0) };
}

/** Ages of the task instances deferred now (one projected query per scrape). */
async function deferralAges(store: Store, now = Date.now()): Promise<number[]> {
  const rows = await store.taskInstances.find({ state: 'deferred' }, { projection: { deferred_at: 1 } }).toArray();
  return rows.filter((r) => r.deferred_at).map((r) => Math.max(0, (now - r.deferred_at!.getTime()) / 1000));
}

export function registerDeferralAgeMetrics(store: Store, registry: Registry): void {
  const registers = [registry];
  // One query serves the four series of a scrape.
  let pending: { at: number; ages: Promise<number[]> } | null = null;
  const ages = () => {
    if (!pending || Date.now() - pending.at > 1000) pending = { at: Date.now(), ages: deferralAges(store) };
    return pending.ages;
  };
  getOrCreate(
    registry,
    'deferflow_oldest_deferral_age_seconds',
    () =>
      new Gauge({
        name: 'deferflow_oldest_deferral_age_seconds',
        help: 'Age of the oldest deferral now (0 when nothing is deferred); alert when it exceeds what your jobs take',
        registers,
        async collect() {
          const a = await ages();
          this.set(a.length ? Math.max(...a) : 0);
        },
      }),
  );
  getOrCreate(
    registry,
    'deferflow_deferral_age_seconds_bucket',
    () =>
      new Gauge({
        name: 'deferflow_deferral_age_seconds_bucket',
        help: 'Deferrals now at most `le` seconds old (a histogram of the current deferral ages; cumulative)',
        labelNames: ['le'],
        registers,
        async collect() {
          for (const b of ageBuckets(await ages()).buckets) this.set({ le: b.le }, b.count);
        },
      }),
  );
  getOrCreate(
    registry,
    'deferflow_deferral_age_seconds_count',
    () =>
      new Gauge({
        name: 'deferflow_deferral_age_seconds_count',
        help: 'Deferrals now (the histogram of deferral ages: count)',
        registers,
        async collect() {
          this.set((await ages()).length);
        },
      }),
  );
  getOrCreate(
    registry,
    'deferflow_deferral_age_seconds_sum',
    () =>
      new Gauge({
        name: 'deferflow_deferral_age_seconds_sum',
        help: 'Sum of the ages of the deferrals now, in seconds (the histogram of deferral ages: sum)',
        registers,
        async collect() {
          this.set(ageBuckets(await ages()).sum);
        },
      }),
  );
}

/** The worker's slots, read at scrape time. */
export function registerWorkerMetrics(registry: Registry, worker: { id: string; slots: number; slotsInUse: number }): void {
  getOrCreate(
    registry,
    'deferflow_worker_slots',
    () =>
      new Gauge({
        name: 'deferflow_worker_slots',
        help: "This worker's slots: used and free",
        labelNames: ['worker_id', 'kind'],
        registers: [registry],
        collect() {
          this.set({ worker_id: worker.id, kind: 'used' }, worker.slotsInUse);
          this.set({ worker_id: worker.id, kind: 'free' }, Math.max(0, worker.slots - worker.slotsInUse));
        },
      }),
  );
}

/** SchedulerMetrics (the scheduler's hooks) on prom-client. */
export function schedulerMetrics(registry: Registry): SchedulerMetrics {
  const registers = [registry];
  const loops = getOrCreate(
    registry,
    'deferflow_scheduler_loop_seconds',
    () =>
      new Histogram({
        name: 'deferflow_scheduler_loop_seconds',
        help: 'Duration of a scheduler loop',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
  );
  const errors = getOrCreate(
    registry,
    'deferflow_scheduler_loop_errors_total',
    () => new Counter({ name: 'deferflow_scheduler_loop_errors_total', help: 'Scheduler loops that threw (the next one still runs)', registers }),
  );
  const work = getOrCreate(
    registry,
    'deferflow_scheduler_work_total',
    () =>
      new Counter({
        name: 'deferflow_scheduler_work_total',
        help: 'What scheduler loops did: runs created, task instances scheduled / queued, runs finished, zombies reaped',
        labelNames: ['what'],
        registers,
      }),
  );
  const runs = getOrCreate(
    registry,
    'deferflow_dag_runs_finished_total',
    () => new Counter({ name: 'deferflow_dag_runs_finished_total', help: 'DAG runs finished, by state', labelNames: ['state'], registers }),
  );
  const timedOut = getOrCreate(
    registry,
    'deferflow_deferred_timed_out_total',
    () =>
      new Counter({
        name: 'deferflow_deferred_timed_out_total',
        help: 'Deferred tasks failed past their trigger timeout or execution timeout',
        labelNames: ['reason'],
        registers,
      }),
  );
  return {
    loop(r) {
      loops.observe(r.loopMs / 1000);
      work.inc({ what: 'runs_created' }, r.runsCreated);
      work.inc({ what: 'tis_scheduled' }, r.tisScheduled);
      work.inc({ what: 'tis_queued' }, r.tisQueued);
      work.inc({ what: 'runs_finished' }, r.runsFinished);
      work.inc({ what: 'zombies_reaped' }, r.zombies);
    },
    loopError: () => errors.inc(),
    dagRunFinished: (i) => runs.inc({ state: i.state }),
    deferredTimedOut: (i) => timedOut.inc({ reason: i.reason }),
  };
}
