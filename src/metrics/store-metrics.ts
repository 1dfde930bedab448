/**
 * Gauges computed from MongoDB at scrape time (shared truth across processes): deferred tasks
 * now, and worker slot-seconds saved by deferral (sum of deferred_ms over all task instances).
 * Register once per process that serves /metrics (the webserver); cheap indexed queries.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Store } from '../store/store.ts';
import { getOrCreate, metricsRegistry } from './registry.ts';

/** Trigger rows held by some triggerer and by none (ownership is by shard lease: the store's TriggerOwners knows how to count it). */
export type TriggerOwnershipCounts = () => Promise<{ owned: number; unowned: number }>;

export function registerStoreMetrics(store: Store, triggerOwnership: TriggerOwnershipCounts, registry: Registry = metricsRegistry): void {
  const registers = [registry];
  getOrCreate(
    registry,
    'deferflow_deferred_tasks',
    () =>
      new Gauge({
        name: 'deferflow_deferred_tasks',
        help: 'Task instances in state deferred (waiting on a trigger, holding no worker slot)',
        registers,
        async collect() {
          this.set(await store.taskInstances.countDocuments({ state: 'deferred' }));
        },
      }),
  );
  getOrCreate(
    registry,
    'deferflow_worker_slot_seconds_saved',
    () =>
      new Gauge({
        name: 'deferflow_worker_slot_seconds_saved',
        help: 'Worker slot-seconds not spent waiting: sum of deferred_ms of all task instances, in seconds',
        registers,
        async collect() {
          const rows = await store.taskInstances
            .aggregate<{ total: number }>([{ $match: { deferred_ms: { $gt: 0 } } }, { $group: { _id: null, total: { $sum: '$deferred_ms' } } }])
            .toArray();
          this.set((rows[0]?.total ?? 0) / 1000);
        },
      }),
  );
  getOrCreate(
    registry,
    'deferflow_triggers',
    () =>
      new Gauge({
        name: 'deferflow_triggers',
        help: 'Trigger rows by ownership (owned=true: held by a triggerer)',
        labelNames: ['owned'],
        registers,
        async collect() {
          const { owned, unowned } = await triggerOwnership();
          this.set({ owned: 'true' }, owned);
          this.set({ owned: 'false' }, unowned);
        },
      }),
  );
}
