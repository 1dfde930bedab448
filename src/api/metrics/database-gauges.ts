/**
 * Gauges the webserver computes from MongoDB on each scrape (a few cheap aggregations), so
 * /metrics shows cluster-wide facts no single process knows: task instances and runs by state,
 * worker slots used/free and live processes from the jobs' heartbeats. Deferred tasks, slot-seconds
 * saved and triggers by owner are src/metrics/store-metrics.ts's (registered by the metrics route).
 * Named `deferflow_db_*` so they never collide with the processes' own metrics (src/metrics).
 */
import { Gauge, Registry } from 'prom-client';
import type { Store } from '../../store/store.ts';
import { countByState, liveJobCounts, liveJobs } from '../../app/queries/process-queries.ts';

/** A job whose heartbeat is older than this is dead for the gauges (Airflow's 30 s threshold). */
const ALIVE_MS = 30_000;

export function databaseGauges(store: Store): Registry {
  const registry = new Registry();

  new Gauge({
    name: 'deferflow_db_task_instances',
    help: 'Task instances by state (from the metadata database)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await countByState(store, 'taskInstances')) this.set({ state: r.state }, r.n);
    },
  });
  new Gauge({
    name: 'deferflow_db_dag_runs',
    help: 'DAG runs by state (from the metadata database)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await countByState(store, 'dagRuns')) this.set({ state: r.state }, r.n);
    },
  });
  new Gauge({
    name: 'deferflow_db_worker_slots',
    help: 'Worker slots of live workers: used and free (from worker heartbeats)',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      const workers = await liveJobs(store, 'WorkerJob', ALIVE_MS);
      const used = workers.reduce((s, w) => s + (w.load ?? 0), 0);
      const capacity = workers.reduce((s, w) => s + (w.capacity ?? 0), 0);
      this.set({ kind: 'used' }, used);
      this.set({ kind: 'free' }, Math.max(0, capacity - used));
    },
  });
  new Gauge({
    name: 'deferflow_db_live_jobs',
    help: 'Processes with a fresh heartbeat, by job type',
    labelNames: ['job_type'],
    registers: [registry],
    async collect() {
      const rows = await liveJobCounts(store, ALIVE_MS);
      this.reset();
      for (const r of rows) this.set({ job_type: r.jobType }, r.n);
    },
  });
  return registry;
}
