/**
 * Triggerer and event-stream metrics. One instance per registry (memoised), so every triggerer of
 * a process reports into the same series, labelled by triggerer id where it matters.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { getOrCreate, metricsRegistry } from './registry.ts';

export class TriggererMetrics {
  readonly triggersHeld: Gauge<'triggerer_id'>;
  readonly triggersClaimed: Counter<'triggerer_id' | 'how'>;
  readonly resumed: Counter<'outcome'>;
  readonly eventsReceived: Counter<'source'>;
  readonly eventsDuplicate: Counter<'source'>;
  readonly eventsUnroutable: Counter<'source'>;
  readonly eventsMalformed: Counter<'source'>;
  readonly eventResumeLatency: Histogram;
  readonly sweepRuns: Counter<'job_type' | 'result'>;
  readonly sweepRecovered: Counter<'job_type'>;
  readonly awsCalls: Counter<'operation'>;
  readonly awsThrottled: Counter<'operation'>;

  private constructor(registry: Registry) {
    const registers = [registry];
    this.triggersHeld = getOrCreate(
      registry,
      'deferflow_triggerer_triggers_held',
      () => new Gauge({ name: 'deferflow_triggerer_triggers_held', help: 'Triggers held (running) per triggerer', labelNames: ['triggerer_id'], registers }),
    );
    this.triggersClaimed = getOrCreate(
      registry,
      'deferflow_triggerer_triggers_claimed_total',
      () =>
        new Counter({
          name: 'deferflow_triggerer_triggers_claimed_total',
          help: 'Triggers claimed (how=unowned) or adopted from dead triggerers (how=adopted)',
          labelNames: ['triggerer_id', 'how'],
          registers,
        }),
    );
    this.resumed = getOrCreate(
      registry,
      'deferflow_tasks_resumed_total',
      () =>
        new Counter({
          name: 'deferflow_tasks_resumed_total',
          help: 'Deferred tasks resumed by a trigger (outcome=event|failure|timeout)',
          labelNames: ['outcome'],
          registers,
        }),
    );
    this.eventsReceived = getOrCreate(
      registry,
      'deferflow_events_received_total',
      () => new Counter({ name: 'deferflow_events_received_total', help: 'Events received from event sources', labelNames: ['source'], registers }),
    );
    this.eventsDuplicate = getOrCreate(
      registry,
      'deferflow_events_duplicate_total',
      () =>
        new Counter({
          name: 'deferflow_events_duplicate_total',
          help: 'Events for a resource whose trigger already fired (redelivery, duplicates, late non-terminal states)',
          labelNames: ['source'],
          registers,
        }),
    );
    this.eventsUnroutable = getOrCreate(
      registry,
      'deferflow_events_unroutable_total',
      () =>
        new Counter({
          name: 'deferflow_events_unroutable_total',
          help: 'Events that are not ours: well-formed, but no trigger (here or in MongoDB) waited on them (e.g. jobs nobody defers on)',
          labelNames: ['source'],
          registers,
        }),
    );
    this.eventsMalformed = getOrCreate(
      registry,
      'deferflow_events_malformed_total',
      () =>
        new Counter({
          name: 'deferflow_events_malformed_total',
          help: 'Messages that are not a valid event envelope (bad JSON, missing fields), left for the DLQ or deleted',
          labelNames: ['source'],
          registers,
        }),
    );
    this.eventResumeLatency = getOrCreate(
      registry,
      'deferflow_event_resume_latency_seconds',
      () =>
        new Histogram({
          name: 'deferflow_event_resume_latency_seconds',
          help: 'From event ingested by the triggerer to the task scheduled in MongoDB',
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers,
        }),
    );
    this.sweepRuns = getOrCreate(
      registry,
      'deferflow_reconcile_sweeps_total',
      () =>
        new Counter({
          name: 'deferflow_reconcile_sweeps_total',
          help: 'Reconcile sweeps (List* since last sweep) per SageMaker resource type',
          labelNames: ['job_type', 'result'],
          registers,
        }),
    );
    this.sweepRecovered = getOrCreate(
      registry,
      'deferflow_reconcile_jobs_recovered_total',
      () =>
        new Counter({
          name: 'deferflow_reconcile_jobs_recovered_total',
          help: 'Ended jobs found by a sweep or start-up Describe and fed to their triggers',
          labelNames: ['job_type'],
          registers,
        }),
    );
    this.awsCalls = getOrCreate(
      registry,
      'deferflow_triggerer_aws_calls_total',
      () =>
        new Counter({ name: 'deferflow_triggerer_aws_calls_total', help: 'SageMaker API calls made by the triggerer', labelNames: ['operation'], registers }),
    );
    this.awsThrottled = getOrCreate(
      registry,
      'deferflow_triggerer_aws_throttled_total',
      () =>
        new Counter({
          name: 'deferflow_triggerer_aws_throttled_total',
          help: 'SageMaker API calls answered with throttling (retried with backoff)',
          labelNames: ['operation'],
          registers,
        }),
    );
  }

  private static readonly byRegistry = new WeakMap<Registry, TriggererMetrics>();

  static for(registry: Registry = metricsRegistry): TriggererMetrics {
    let m = TriggererMetrics.byRegistry.get(registry);
    if (!m) {
      m = new TriggererMetrics(registry);
      TriggererMetrics.byRegistry.set(registry, m);
    }
    return m;
  }
}
