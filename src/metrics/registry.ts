/**
 * The process-wide prom-client registry. The webserver serves `/metrics` from it
 * (`metricsRegistry.metrics()`, content type `metricsRegistry.contentType`); components register
 * their metrics here unless given another registry (tests use fresh ones).
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export const metricsRegistry = new Registry();

let defaultsCollected = false;

/** Node process metrics (RSS, event-loop lag, GC) on the shared registry; idempotent. */
export function collectProcessMetrics(registry: Registry = metricsRegistry): void {
  if (registry === metricsRegistry) {
    if (defaultsCollected) return;
    defaultsCollected = true;
  }
  collectDefaultMetrics({ register: registry, prefix: 'deferflow_' });
}

/** Get-or-create, so two components (or two triggerers in one test process) share one metric. */
export function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
