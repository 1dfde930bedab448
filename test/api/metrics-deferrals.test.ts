/**
 * /metrics (the process registry plus cluster gauges computed from MongoDB) and /api/v1/deferrals
 * (deferred tasks with trigger, status, triggerer; totals, latency quantiles from the registry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Histogram, Registry } from 'prom-client';
import { TriggererMetrics } from '../../src/metrics/triggerer-metrics.ts';
import { buildServer } from '../../src/api/server.ts';
import { histogramQuantiles, findMetric } from '../../src/api/metrics/registry-readings.ts';
import type { Store } from '../../src/store/store.ts';
import { Driver, closeTestStore, openTestStore, seedDag } from './helpers.ts';

let store: Store;
let app: FastifyInstance;
const registry = new Registry();
const triggerer = TriggererMetrics.for(registry);

beforeAll(async () => {
  store = await openTestStore('api_metrics');
  const d = new Driver(store);
  const dag = await seedDag(store, 'etl', { a: [], b: [], c: [] });
  await d.createRun(dag, 'r1', new Date('2025-01-01T00:00:00Z'));
  await d.run('etl', 'r1', 'a');
  const { triggerId } = await d.defer('etl', 'r1', 'b', 'job-b');
  await d.defer('etl', 'r1', 'c', 'job-c');
  // b's trigger is held by a live triggerer
  await store.jobs.insertOne({
    _id: 'triggerer-1',
    job_type: 'TriggererJob',
    hostname: 'trig-host',
    pid: 7,
    state: 'running',
    start_date: new Date(),
    end_date: null,
    latest_heartbeat: new Date(),
    capacity: 1000,
    load: 1,
  });
  await store.jobs.insertOne({
    _id: 'worker-1',
    job_type: 'WorkerJob',
    hostname: 'w-host',
    pid: 8,
    state: 'running',
    start_date: new Date(),
    end_date: null,
    latest_heartbeat: new Date(),
    capacity: 16,
    load: 3,
  });
  await store.triggers.updateOne({ _id: triggerId }, { $set: { triggerer_id: 'triggerer-1', claimed_at: new Date() } });
  for (const s of [0.002, 0.003, 0.004, 0.02, 0.08]) triggerer.eventResumeLatency.observe(s);
  triggerer.sweepRecovered.inc({ job_type: 'training' }, 1);
  triggerer.sweepRecovered.inc({ job_type: 'transform' }, 1);
  app = await buildServer({ store, metricsRegistry: registry });
});
afterAll(async () => {
  await app?.close();
  await closeTestStore(store);
});

describe('/metrics', () => {
  it('exposes the registry and database gauges in Prometheus text format', async () => {
    const r = await app.inject('/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    const body = r.body;
    expect(body).toContain('deferflow_event_resume_latency_seconds_bucket');
    expect(body).toMatch(/deferflow_deferred_tasks 2/);
    expect(body).toMatch(/deferflow_triggers\{owned="false"\} 1/);
    expect(body).toMatch(/deferflow_db_task_instances\{state="deferred"\} 2/);
    expect(body).toMatch(/deferflow_db_task_instances\{state="success"\} 1/);
    expect(body).toMatch(/deferflow_db_dag_runs\{state="running"\} 1/);
    expect(body).toMatch(/deferflow_db_worker_slots\{kind="used"\} 3/);
    expect(body).toMatch(/deferflow_db_worker_slots\{kind="free"\} 13/);
    // Deferral ages, for "deferred for more than N hours" alerts.
    expect(body).toMatch(/^deferflow_oldest_deferral_age_seconds \d/m);
    expect(body).toMatch(/^deferflow_deferral_age_seconds_count 2$/m);
    expect(body).toMatch(/^deferflow_deferral_age_seconds_bucket\{le="\+Inf"\} 2$/m);
  });
});

describe('/api/v1/deferrals', () => {
  it('lists every deferred task with its trigger, status, deadline and triggerer, plus totals', async () => {
    const r = await app.inject('/api/v1/deferrals');
    const body = r.json() as { deferrals: Array<Record<string, any>>; total_entries: number; totals: Record<string, any> };
    expect(body.total_entries).toBe(2);
    const byTask = Object.fromEntries(body.deferrals.map((x) => [x.task_id, x]));
    expect(byTask.b).toMatchObject({
      dag_id: 'etl',
      dag_run_id: 'r1',
      trigger_kind: 'aws.SageMakerJobTrigger',
      external_job: 'training job job-b',
      status: 'waiting for event',
      triggerer: { id: 'triggerer-1', hostname: 'trig-host', alive: true },
    });
    expect(byTask.c).toMatchObject({ status: 'waiting for a triggerer', triggerer: null });
    expect(Date.parse(byTask.b.deadline)).toBeGreaterThan(Date.now());
    expect(byTask.b.deferred_for_ms).toBeGreaterThanOrEqual(0);
    expect(body.totals).toMatchObject({ deferred_now: 2, unclaimed_triggers: 1, live_triggerers: 1, lost_events_recovered_by_sweep: 2 });
    expect(body.totals.worker_slot_seconds_saved).toBeGreaterThanOrEqual(0);
    const lat = body.totals.event_to_resume_latency_ms;
    expect(lat.count).toBe(5);
    expect(lat.source).toBe('deferflow_event_resume_latency_seconds');
    // 5 observations: rank 2.5 falls in the (2.5 ms, 5 ms] bucket, rank 4.95 in (50, 100]
    expect(lat.p50).toBeGreaterThan(2.5);
    expect(lat.p50).toBeLessThanOrEqual(5);
    expect(lat.p99).toBeGreaterThan(50);
    expect(lat.p99).toBeLessThanOrEqual(100);
  });
});

describe('histogramQuantiles', () => {
  it('interpolates inside buckets like histogram_quantile and reports null when empty', async () => {
    const reg = new Registry();
    const h = new Histogram({ name: 'x_seconds', help: 'x', buckets: [1, 2, 4], registers: [reg] });
    const m0 = (await findMetric(reg, 'histogram', /^x_seconds$/))!;
    expect(histogramQuantiles(m0, [0.5])).toEqual({ count: 0, quantiles: [null] });
    for (const v of [0.5, 1.5, 1.5, 3]) h.observe(v);
    const m = (await findMetric(reg, 'histogram', /^x_seconds$/))!;
    const { count, quantiles } = histogramQuantiles(m, [0.5, 1]);
    expect(count).toBe(4);
    expect(quantiles[0]).toBeCloseTo(1.5); // rank 2: one in (0,1], two in (1,2] → halfway through (1,2]
    expect(quantiles[1]).toBeCloseTo(4);
  });
});
