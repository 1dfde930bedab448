/**
 * Deferral figures that outlive a process: every process that holds triggers writes the reading of
 * its deferral metrics (event → resume latency histogram, events by outcome, sweep recoveries) to
 * `metrics_snapshots` every few seconds and when it stops, so any webserver's deferrals page sums
 * them across processes and restarts instead of reading "n/a" when the triggerer runs elsewhere or
 * was restarted. Snapshots older than a week are deleted by the writers.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import type { MetricsSnapshotDoc } from '../store/schema.ts';

const ids = new WeakMap<Registry, string>();

/**
 * The id of a registry's figures in `metrics_snapshots`: one per registry per process run (a
 * process has one registry, so one row per process run). A webserver skips the row of its own
 * registry and reads those figures live instead.
 */
export function snapshotIdFor(registry: Registry): string {
  let id = ids.get(registry);
  if (!id) ids.set(registry, (id = randomUUID()));
  return id;
}

export const SNAPSHOT_HISTOGRAMS = ['deferflow_event_resume_latency_seconds'] as const;
export const SNAPSHOT_COUNTERS = [
  'deferflow_events_received_total',
  'deferflow_events_duplicate_total',
  'deferflow_events_unroutable_total',
  'deferflow_events_malformed_total',
  'deferflow_tasks_resumed_total',
  'deferflow_reconcile_jobs_recovered_total',
] as const;

/** Snapshots are kept this long (the deferrals page sums what is left). */
export const SNAPSHOT_RETENTION_MS = 7 * 24 * 3600_000;

interface MetricJson {
  name: string;
  type: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

const labelKey = (labels: Record<string, string | number>) =>
  Object.entries(labels)
    .filter(([k]) => k !== 'le')
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');

/** The registry's deferral figures, as stored. */
export async function readFigures(registry: Registry): Promise<Pick<MetricsSnapshotDoc, 'histograms' | 'counters'>> {
  const all = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const histograms: MetricsSnapshotDoc['histograms'] = {};
  const counters: MetricsSnapshotDoc['counters'] = {};
  for (const m of all) {
    if ((SNAPSHOT_HISTOGRAMS as readonly string[]).includes(m.name) && m.type === 'histogram') {
      const buckets = new Map<string, number>();
      let count = 0;
      let sum = 0;
      for (const v of m.values) {
        if (v.metricName?.endsWith('_bucket')) buckets.set(String(v.labels.le), (buckets.get(String(v.labels.le)) ?? 0) + v.value);
        else if (v.metricName?.endsWith('_count')) count += v.value;
        else if (v.metricName?.endsWith('_sum')) sum += v.value;
      }
      histograms[m.name] = { buckets: [...buckets.entries()].map(([le, c]) => ({ le, count: c })), count, sum };
    } else if ((SNAPSHOT_COUNTERS as readonly string[]).includes(m.name) && m.type === 'counter') {
      counters[m.name] = m.values.map((v) => ({ labels: labelKey(v.labels), value: v.value }));
    }
  }
  return { histograms, counters };
}

export interface SnapshotWriterOptions {
  store: Store;
  registry: Registry;
  process: string;
  intervalMs?: number;
  logger?: Logger;
}

/** Writes this process's figures periodically; stop() writes the last reading. */
export class SnapshotWriter {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly startedAt = new Date();
  private lastCleanup = 0;

  constructor(private readonly o: SnapshotWriterOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () => void this.write().catch((e: unknown) => this.o.logger?.warn({ err: e }, 'Could not store the metrics snapshot')),
      this.o.intervalMs ?? 10_000,
    );
    this.timer.unref?.();
  }

  async write(now = new Date()): Promise<void> {
    const figures = await readFigures(this.o.registry);
    const doc: MetricsSnapshotDoc = {
      _id: snapshotIdFor(this.o.registry),
      process: this.o.process,
      hostname: hostname(),
      pid: process.pid,
      started_at: this.startedAt,
      updated_at: now,
      ...figures,
    };
    await this.o.store.metricsSnapshots.replaceOne({ _id: doc._id }, doc, { upsert: true });
    if (now.getTime() - this.lastCleanup > 3600_000) {
      this.lastCleanup = now.getTime();
      await this.o.store.metricsSnapshots.deleteMany({ updated_at: { $lt: new Date(now.getTime() - SNAPSHOT_RETENTION_MS) } });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.write();
  }
}
