/**
 * Resume-latency demo: N SageMaker training tasks (one DAG run, all in parallel) each submit a
 * D ms job on the local AWS (simulated timeline, `jobDurationMs` fault knob), defer, and are
 * resumed by the job's EventBridge → SQS event — scheduler, worker and triggerer in one Runtime,
 * SqsEventSource on the queue that `setupSageMakerEvents` created, AwsClientFactory as the
 * `awsClients` service, metadata on MONGODB_URI (default the local test server). Prints ONE JSON
 * object:
 *
 *   npx tsx bench/deferral.ts [--jobs 1] [--duration-ms 10000] [--slots 16] [--max-active-tasks N]
 *
 * Reported:
 *   job_seconds                 Σ over jobs of (terminal event − first InProgress event)
 *   slot_seconds_used           Σ over tasks of time in `running` (what holds a worker slot),
 *                               from the in-process state-change bus — exact, not sampled
 *   slot_seconds_sampled        the same from sampling worker.slotsInUse every 50 ms (cross-check)
 *   slot_seconds_per_job_second slot_seconds_used / job_seconds (a sync operator that polls holds
 *                               its slot the whole job: ≥ 1)
 *   deferred_fraction           share of job time during which its task was `deferred`
 *   event_to_scheduled_ms       terminal event published by the local AWS → task `scheduled`
 *                               (guarded resume returned), p50/p99/max over jobs
 *   event_to_success_ms         terminal event → task `success` (worker resumed and finished it)
 *   triggerer_sagemaker_calls   SageMaker calls the triggerer made (start-up Describes, sweeps)
 *   airflow_baseline            Airflow's deferrable SageMakerTrigger polls one Describe per
 *                               trigger every poke_interval (30 s) — computed for the same jobs
 * Times come from one process's clock: the local AWS publishes on the same event loop.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { DAG } from '../src/dag/dag.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { Store } from '../src/store/store.ts';
import { createLogger } from '../src/log/logger.ts';
import type { Connection } from '../src/connections/connection.ts';
import { AwsClientFactory } from '../src/providers/aws/aws-clients.ts';
import { setupSageMakerEvents } from '../src/providers/aws/setup-events.ts';
import { SageMakerTrainingOperatorAsync } from '../src/providers/aws/operators/sagemaker-training-operator-async.ts';
import { SqsEventSource } from '../triggerer/sources/sqs-event-source.ts';
import { TriggererMetrics } from '../src/metrics/triggerer-metrics.ts';
import { startLocalAws } from '../src/local-aws/index.ts';
import { needsDocLocks } from '../src/store/transitions/atomic-updater.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1' },
    'duration-ms': { type: 'string', default: '10000' },
    slots: { type: 'string', default: '16' },
    /** The DAG's max_active_tasks (default: the number of jobs, i.e. no limit). */
    'max-active-tasks': { type: 'string' },
    'poke-interval-s': { type: 'string', default: '30' },
    'mongo-uri': { type: 'string', default: process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017' },
  },
});
const JOBS = Math.max(1, Number(values.jobs));
const DURATION_MS = Math.max(0, Number(values['duration-ms']));
const SLOTS = Math.max(1, Number(values.slots));
const MAX_ACTIVE_TASKS = values['max-active-tasks'] ? Math.max(1, Number(values['max-active-tasks'])) : JOBS;
const POKE_S = Number(values['poke-interval-s']);
const CONN_ID = 'aws_bench';
const DAG_ID = 'bench_deferral';

const round = (v: number | null, d = 1) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
};
const stats = (xs: number[]) => ({ p50: round(pct(xs, 50)), p99: round(pct(xs, 99)), max: round(xs.length ? Math.max(...xs) : null) });
const jobName = (i: number) => `bench-deferral-${i}`;

const dag = new DAG({ dagId: DAG_ID, schedule: null, startDate: '2025-01-01', maxActiveTasks: MAX_ACTIVE_TASKS }, () => {
  for (let i = 0; i < JOBS; i++) {
    new SageMakerTrainingOperatorAsync({
      taskId: `train_${i}`,
      aws_conn_id: CONN_ID,
      print_log: false,
      config: {
        TrainingJobName: jobName(i),
        AlgorithmSpecification: { TrainingImage: '382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1', TrainingInputMode: 'File' },
        HyperParameters: { predictor_type: 'classifier', feature_dim: '4', k: '3', sample_size: '120' },
        RoleArn: 'arn:aws:iam::000000000000:role/SageMakerRole',
        OutputDataConfig: { S3OutputPath: 's3://bench/out/' },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
        StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      },
    });
  }
});

/** Per task: when it entered each state (first time), and how long it spent running / deferred. */
interface Track {
  state: string | null;
  since: number;
  runningMs: number;
  deferredIntervals: Array<[number, number]>;
  scheduledFromDeferredAt: number | null;
  successAt: number | null;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'deferflow-bench-deferral-'));
  const logger = createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'warn', format: 'json', destination: process.stderr });
  const aws = await startLocalAws({ dataDir, port: 0, faults: { simulateJobs: true, jobDurationMs: DURATION_MS, stageDelayMs: 30 } });
  const store = await Store.connect({ uri: values['mongo-uri']!, dbName: `deferflow_bench_deferral_${randomBytes(4).toString('hex')}` });
  const conn: Connection = {
    conn_id: CONN_ID,
    conn_type: 'aws',
    description: null,
    host: null,
    schema: null,
    login: 'bench',
    password: 'bench',
    port: null,
    extra: JSON.stringify({ region_name: 'us-east-1', endpoint_url: aws.url }),
  };
  const clients = new AwsClientFactory({ connections: (id) => (id === CONN_ID ? conn : null) });
  const metrics = TriggererMetrics.for(new Registry());
  let rt: Runtime | null = null;
  try {
    const locks = await needsDocLocks(store.db);
    const events = await setupSageMakerEvents({
      clients: { sqs: (c, r) => clients.sqs(c, r), eventBridge: (c, r) => clients.eventBridge(c, r) },
      connId: CONN_ID,
    });
    rt = await Runtime.create({
      store,
      dags: [dag],
      logger,
      services: { awsClients: clients },
      eventSources: [new SqsEventSource({ client: clients.sqs(CONN_ID), queueUrl: events.queueUrl, waitTimeSeconds: 1, visibilityTimeout: 60, logger })],
      components: {
        scheduler: { loopIntervalMs: 100 },
        worker: { pollIntervalMs: 100, slots: SLOTS },
        // Sweeps off for the run: every resume measured here comes from an event.
        triggerer: { pollIntervalMs: 100, heartbeatMs: 1000, sweepIntervalMs: 3_600_000, metrics },
      },
    });
    const runtime = rt;

    const tracks = new Map<string, Track>();
    runtime.events$.subscribe((e) => {
      if (e.type !== 'task_instance' || e.dagId !== DAG_ID) return;
      const now = performance.now();
      let t = tracks.get(e.taskId);
      if (!t) tracks.set(e.taskId, (t = { state: null, since: now, runningMs: 0, deferredIntervals: [], scheduledFromDeferredAt: null, successAt: null }));
      if (t.state === 'running') t.runningMs += now - t.since;
      if (t.state === 'deferred') t.deferredIntervals.push([t.since, now]);
      if (e.state === 'scheduled' && t.state === 'deferred') t.scheduledFromDeferredAt ??= now;
      if (e.state === 'success') t.successAt ??= now;
      t.state = e.state;
      t.since = now;
    });
    const jobStart = new Map<number, number>();
    const jobEnd = new Map<number, number>();
    aws.events$.subscribe((e) => {
      const d = e.detail as { TrainingJobName?: string; TrainingJobStatus?: string };
      const m = /^bench-deferral-(\d+)$/.exec(d.TrainingJobName ?? '');
      if (!m) return;
      const i = Number(m[1]);
      if (d.TrainingJobStatus === 'InProgress' && !jobStart.has(i)) jobStart.set(i, performance.now());
      if (d.TrainingJobStatus === 'Completed' && !jobEnd.has(i)) jobEnd.set(i, performance.now());
    });
    let sampledSlotMs = 0;
    let lastSample = performance.now();
    const sampler = setInterval(() => {
      const now = performance.now();
      sampledSlotMs += runtime.worker!.slotsInUse * (now - lastSample);
      lastSample = now;
    }, 50);

    await runtime.start();
    const t0 = performance.now();
    const run = await runtime.triggerDag(DAG_ID);
    const done = await runtime.waitForRun(DAG_ID, run.run_id, { timeoutMs: DURATION_MS + 300_000 });
    const wallMs = performance.now() - t0;
    clearInterval(sampler);

    const toScheduled: number[] = [];
    const toSuccess: number[] = [];
    let jobMs = 0;
    let deferredInJobMs = 0;
    let slotMs = 0;
    for (let i = 0; i < JOBS; i++) {
      const t = tracks.get(`train_${i}`);
      const start = jobStart.get(i);
      const end = jobEnd.get(i);
      if (!t || start === undefined || end === undefined) continue;
      slotMs += t.runningMs;
      jobMs += end - start;
      for (const [a, b] of t.deferredIntervals) deferredInJobMs += Math.max(0, Math.min(b, end) - Math.max(a, start));
      if (t.scheduledFromDeferredAt !== null) toScheduled.push(t.scheduledFromDeferredAt - end);
      if (t.successAt !== null) toSuccess.push(t.successAt - end);
    }
    const callsByOp = Object.fromEntries((await metrics.awsCalls.get()).values.map((v) => [String(v.labels.operation), v.value]));
    const triggererCalls = Object.values(callsByOp).reduce((a, b) => a + b, 0);
    const succeeded = await store.taskInstances.countDocuments({ dag_id: DAG_ID, state: 'success' });
    const airflowDescribes = [...jobStart.keys()].reduce(
      (s, i) => s + Math.floor(((jobEnd.get(i) ?? jobStart.get(i)!) - jobStart.get(i)!) / 1000 / POKE_S) + 1,
      0,
    );

    process.stdout.write(
      `${JSON.stringify({
        bench: 'deferral',
        server: locks ? 'ferretdb (per-document write locks on)' : 'mongodb',
        jobs: JOBS,
        duration_ms: DURATION_MS,
        worker_slots: SLOTS,
        max_active_tasks: MAX_ACTIVE_TASKS,
        run_state: done.state,
        tasks_succeeded: succeeded,
        wall_s: round(wallMs / 1000, 2),
        job_seconds: round(jobMs / 1000, 2),
        slot_seconds_used: round(slotMs / 1000, 3),
        slot_seconds_sampled: round(sampledSlotMs / 1000, 3),
        slot_seconds_per_job_second: round(jobMs > 0 ? slotMs / jobMs : null, 4),
        deferred_fraction: round(jobMs > 0 ? deferredInJobMs / jobMs : null, 4),
        event_to_scheduled_ms: stats(toScheduled),
        event_to_success_ms: stats(toSuccess),
        triggerer_sagemaker_calls: triggererCalls,
        triggerer_sagemaker_calls_by_operation: callsByOp,
        airflow_baseline: {
          model:
            'sync operator: holds a worker slot for the whole job; deferrable SageMakerTrigger: one Describe per trigger per poke_interval (computed, not executed)',
          sync_slot_seconds: round(jobMs / 1000, 2),
          poke_interval_s: POKE_S,
          deferrable_describe_calls: airflowDescribes,
          deferrable_resume_delay_ms_expected: (POKE_S * 1000) / 2,
        },
        notes: [
          'latencies start at the terminal event published by the local AWS (EventBridge → rule → SQS → SqsEventSource long poll, waitTimeSeconds=1)',
          'simulated jobs (simulateJobs): the job walks its SageMaker statuses on timers, stretched to duration_ms by jobDurationMs',
        ],
      })}\n`,
    );
  } finally {
    await rt?.stop();
    await store.dropDatabase().catch(() => undefined);
    await store.close();
    clients.destroy();
    await aws.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
