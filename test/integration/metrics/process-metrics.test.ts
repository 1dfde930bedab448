/**
 * Monitoring in every process: a triggerer assembled by the composition root with a metrics port
 * serves /metrics (its triggerer series, the deferral-age gauges computed from MongoDB) and
 * /health, announces the address, and stores its deferral figures so a webserver in another
 * process shows p50/p99 after the triggerer is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { CompositionRoot } from '../../../src/composition/composition-root.ts';
import { buildServer } from '../../../src/api/server.ts';
import { TriggererMetrics } from '../../../src/metrics/triggerer-metrics.ts';
import type { Store } from '../../../src/store/store.ts';
import { Driver, closeTestStore, openTestStore, seedDag } from '../../api/helpers.ts';

let store: Store;

beforeAll(async () => {
  store = await openTestStore('process_metrics');
});

afterAll(async () => {
  await closeTestStore(store);
});

describe('a triggerer process with --metrics-port', () => {
  it('serves /metrics and /health, and its deferral figures outlive it', async () => {
    const d = new Driver(store);
    const dag = await seedDag(store, 'm', { train: [] });
    await d.createRun(dag, 'r1', new Date('2025-01-01T00:00:00Z'));
    await d.defer('m', 'r1', 'train', 'job-m');
    // The deferral is "two hours old".
    await store.taskInstances.updateOne({ dag_id: 'm' }, { $set: { deferred_at: new Date(Date.now() - 2 * 3600_000) } });

    const registry = new Registry();
    const lines: string[] = [];
    const root = await CompositionRoot.open({
      logger: pino({ level: 'silent' }),
      store,
      metrics: { port: 0 },
      announce: (l) => lines.push(l),
      metricsRegistry: registry,
    });
    try {
      await root.createProcesses({ triggerer: { capacity: 10 } });
      await root.start();
      const url = root.metricsServer!.url;
      expect(lines.join('\n')).toContain(`${url}/metrics`);
      // Figures this triggerer counted (as its event path would).
      const m = TriggererMetrics.for(registry);
      for (const s of [0.004, 0.006, 0.02]) m.eventResumeLatency.observe(s);
      m.eventsUnroutable.inc({ source: 'sqs:q' }, 3);
      m.eventsMalformed.inc({ source: 'sqs:q' });

      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toMatch(/deferflow_oldest_deferral_age_seconds \d+/);
      const oldest = Number(/^deferflow_oldest_deferral_age_seconds (\S+)$/m.exec(text)![1]);
      expect(oldest).toBeGreaterThan(7000);
      expect(text).toContain('deferflow_deferral_age_seconds_bucket{le="3600"} 0');
      expect(text).toContain('deferflow_deferral_age_seconds_bucket{le="14400"} 1');
      expect(text).toContain('deferflow_deferral_age_seconds_count 1');
      expect(text).toContain('deferflow_event_resume_latency_seconds_count 3');
      expect(text).toContain('deferflow_events_malformed_total{source="sqs:q"} 1');
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'healthy', processes: ['triggerer'], triggerer_state: 'running' });
      expect((await fetch(`${url}/nope`)).status).toBe(404);
    } finally {
      await root.stop();
    }
    // The triggerer is gone; a webserver (its own registry empty) still shows its figures.
    const app = await buildServer({ store, metricsRegistry: new Registry() });
    try {
      const r = await app.inject({ method: 'GET', url: '/api/v1/deferrals' });
      const totals = r.json().totals;
      expect(totals.event_to_resume_latency_ms.count).toBe(3);
      expect(totals.event_to_resume_latency_ms.p50).toBeGreaterThan(5);
      expect(totals.event_to_resume_latency_ms.p50).toBeLessThan(10);
      expect(totals.event_to_resume_latency_ms.since).not.toBeNull();
      expect(totals.events).toMatchObject({ not_ours: 3, malformed: 1 });
      expect(totals.oldest_deferral_ms).toBeGreaterThan(7_000_000);
    } finally {
      await app.close();
    }
  });
});
