/**
 * The Airflow-style baseline, RUN (not computed): N SageMaker training jobs on a local AWS
 * (simulated jobs, `jobDurationMs` so they end during the run), watched at the same time by
 *   - an Airflow-style poller: N independent loops, each calling DescribeTrainingJob for its job
 *     when its trigger starts (a uniform offset in [0, check) after the submit) and then every
 *     check interval until the job is terminal (what Airflow's
 *     deferrable SageMakerTrigger does per trigger: a botocore waiter, one Describe per delay);
 *   - deferflow's way: N SageMaker job triggers run exactly as the triggerer runs them (EventRouter,
 *     HeldTrigger + RunContext, SageMakerReconciler with its start-up check and paginated
 *     `ListTrainingJobs(LastModifiedTimeAfter)` sweep), fed by the job events EventBridge → rule →
 *     SQS → SqsEventSource, all in memory (no MongoDB: the detection side is what is compared).
 * Each approach has its own SageMakerClient; a middleware on each counts every HTTP attempt per
 * operation (the local AWS keeps no per-target counter). Resume delay = the job's terminal event
 * published by the local AWS → the approach noticed it (Describe answered terminal / the trigger
 * emitted). One process, one clock.
 *
 * Time scale: Airflow's 30 s check interval, deferflow's 60 s sweep interval and its 120 s
 * LastModifiedTimeAfter safety margin are all multiplied by `timeScale`, so a 1,000-job run takes
 * under a minute; call counts per job-lifetime and delay ratios are preserved, absolute delays
 * scale with it (multiply by 1 / timeScale for real-time figures).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Subscription } from 'rxjs';
import type { MiddlewareStack } from '@smithy/types';
import { startLocalAws } from '../src/local-aws/index.ts';
import { createLogger } from '../src/log/logger.ts';
import { EventRouter } from '../triggerer/routing/event-router.ts';
import { SqsEventSource } from '../triggerer/sources/sqs-event-source.ts';
import { Delivery } from '../triggerer/routing/delivery.ts';
import { setupSageMakerEvents } from '../src/providers/aws/setup-events.ts';
import { TriggererMetrics } from '../src/metrics/triggerer-metrics.ts';
import type { AwsClientFactory } from '../src/providers/aws/aws-clients.ts';
import { awsDeferralProvider } from '../src/providers/aws/deferral/aws-deferral-provider.ts';
import { SAGEMAKER_JOB_TRIGGER_KIND } from '../src/providers/aws/deferral/sagemaker-job-trigger.ts';
import { SageMakerReconciler } from '../src/providers/aws/deferral/sagemaker-reconciler.ts';
import { TRAINING_JOB } from '../src/providers/aws/sagemaker/resources.ts';
import type { Services } from '../src/services/services.ts';
import { composeDeferral } from '../src/triggers/deferral-provider.ts';
import { TimerHeap } from '../triggerer/timer-heap.ts';
import type { HeldTrigger } from '../triggerer/held-trigger.ts';
import { benchHolder } from './held-triggers.ts';

export interface BaselineRunOptions {
  jobs: number;
  /** Airflow's check interval before scaling (SageMakerTrigger: 30 s). */
  checkIntervalMs: number;
  /** deferflow's reconcile sweep interval before scaling (triggerer default 60 s). */
  sweepIntervalMs: number;
  timeScale: number;
  /** Job length on the local AWS (real ms, not scaled). */
  jobDurationMs: number;
  /** Give up waiting for detection after this long (real ms). */
  timeoutMs: number;
}

const REGION = 'us-east-1';
const creds = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const TERMINAL = new Set([...TRAINING_JOB.succeeded, ...TRAINING_JOB.failed, ...TRAINING_JOB.stopped]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);
const round = (v: number | null, d = 1) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);
const jobName = (i: number) => `bench-baseline-${i}`;

/** Counts every HTTP attempt (the deserialize step runs once per retry attempt) per operation. */
function countCalls<I extends object, O extends object>(stack: MiddlewareStack<I, O>): Map<string, number> {
  const counts = new Map<string, number>();
  stack.add(
    (next, context) => async (args) => {
      const op = String((context as { commandName?: string }).commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(op, (counts.get(op) ?? 0) + 1);
      return next(args);
    },
    { step: 'deserialize', name: 'benchCallCounter' },
  );
  return counts;
}

export async function runBaseline(o: BaselineRunOptions): Promise<Record<string, unknown>> {
  const N = o.jobs;
  const checkMs = Math.max(1, Math.round(o.checkIntervalMs * o.timeScale));
  const sweepMs = Math.max(1, Math.round(o.sweepIntervalMs * o.timeScale));
  const marginMs = Math.round(120_000 * o.timeScale);
  const dataDir = mkdtempSync(join(tmpdir(), 'deferflow-bench-baseline-'));
  const logger = createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'warn', format: 'json', destination: process.stderr });
  const aws = await startLocalAws({ dataDir, port: 0, faults: { simulateJobs: true, jobDurationMs: o.jobDurationMs, stageDelayMs: 30 } });
  const endpoint = aws.url;
  const admin = new SageMakerClient({ endpoint, region: REGION, credentials: creds });
  const airflowClient = new SageMakerClient({ endpoint, region: REGION, credentials: creds });
  const deferflowClient = new SageMakerClient({ endpoint, region: REGION, credentials: creds });
  const sqs = new SQSClient({ endpoint, region: REGION, credentials: creds });
  const eventBridge = new EventBridgeClient({ endpoint, region: REGION, credentials: creds });
  const airflowCalls = countCalls(airflowClient.middlewareStack);
  const deferflowCalls = countCalls(deferflowClient.middlewareStack);
  const sqsCalls = countCalls(sqs.middlewareStack);
  const subs: Subscription[] = [];
  const held: HeldTrigger[] = [];
  // The reconciler only ever asks for SageMaker clients: hand it the one whose calls are counted.
  const awsClients = { sagemaker: () => deferflowClient } as Pick<AwsClientFactory, 'sagemaker'> as AwsClientFactory;
  const deferral = composeDeferral([awsDeferralProvider(awsClients)]);
  const router = new EventRouter(deferral.routingKeys);
  const timers = new TimerHeap();
  const services: Services = { ...deferral.services };
  const reconciler = new SageMakerReconciler(
    {
      dispatch: async (e) => router.route(e, router.keysOf(e), new Delivery(e, performance.now())),
      isWaitedOn: (k) => router.has(k),
      services,
      sweep: {},
      logger,
      metrics: TriggererMetrics.for(new Registry()),
    },
    { sweepIntervalMs: sweepMs, safetyMarginMs: marginMs },
  );
  Object.assign(services, reconciler.services);
  let airflowStop = false;
  try {
    const events = await setupSageMakerEvents({ clients: { sqs: () => sqs, eventBridge: () => eventBridge }, connId: null });
    // Terminal event published by the local AWS = the job's end (the clock both approaches race).
    const endAt = new Map<number, number>();
    subs.push(
      aws.events$.subscribe((e) => {
        const d = e.detail as { TrainingJobName?: string; TrainingJobStatus?: string };
        const m = /^bench-baseline-(\d+)$/.exec(d.TrainingJobName ?? '');
        if (m && TERMINAL.has(d.TrainingJobStatus ?? '') && !endAt.has(Number(m[1]))) endAt.set(Number(m[1]), performance.now());
      }),
    );
    // deferflow: one consumer of the queue for all N triggers; the router fans events out by key.
    let sqsEvents = 0;
    const source = new SqsEventSource({ client: sqs, queueUrl: events.queueUrl, waitTimeSeconds: 1, visibilityTimeout: 60, logger });
    subs.push(
      source.events$.subscribe((inc) => {
        sqsEvents++;
        router.route(inc.event);
        void inc.ack();
      }),
    );
    reconciler.start();
    const holder = benchHolder({
      router,
      timers,
      services,
      logger,
      kinds: deferral.triggerKinds,
      onDecided: (id, outcome) => {
        if (outcome.type === 'event') deferflowDetect.set(Number(id.slice('trg-'.length)), performance.now());
        else logger.warn({ trigger: id, error: outcome.error }, 'trigger failed');
      },
    });

    const airflowDetect = new Map<number, number>();
    const deferflowDetect = new Map<number, number>();
    // Each loop starts after a uniform offset in [0, check interval): in Airflow the trigger starts
    // a variable time after the submit and jobs differ in length, so a job's end falls at a uniform
    // phase of its poll grid. Without it every simulated job (same length) would end at the same
    // phase and the measured delay would be one constant, not a distribution.
    const airflowLoop = async (i: number): Promise<void> => {
      await sleep(Math.random() * checkMs);
      while (!airflowStop) {
        try {
          const r = await airflowClient.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName(i) }));
          if (TERMINAL.has(r.TrainingJobStatus ?? '')) {
            airflowDetect.set(i, performance.now());
            return;
          }
        } catch (e) {
          logger.warn({ err: e, job: jobName(i) }, 'baseline Describe failed; next interval');
        }
        await sleep(checkMs);
      }
    };

    // Submit, then start both watchers for that job, as a deferring task would (submit → defer).
    const t0 = performance.now();
    const loops: Promise<void>[] = [];
    const createConcurrency = 16;
    let next = 0;
    await Promise.all(
      Array.from({ length: createConcurrency }, async () => {
        while (next < N) {
          const i = next++;
          await admin.send(
            new CreateTrainingJobCommand({
              TrainingJobName: jobName(i),
              AlgorithmSpecification: { TrainingImage: '382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1', TrainingInputMode: 'File' },
              HyperParameters: { predictor_type: 'classifier', feature_dim: '4', k: '3', sample_size: '120' },
              RoleArn: 'arn:aws:iam::000000000000:role/SageMakerRole',
              OutputDataConfig: { S3OutputPath: 's3://bench/out/' },
              ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
              StoppingCondition: { MaxRuntimeInSeconds: 3600 },
            }),
          );
          loops.push(airflowLoop(i));
          held.push(holder.hold(`trg-${i}`, SAGEMAKER_JOB_TRIGGER_KIND, { job_type: 'training', job_name: jobName(i), aws_conn_id: null }));
        }
      }),
    );
    const createS = (performance.now() - t0) / 1000;
    const deadline = performance.now() + o.timeoutMs;
    while ((airflowDetect.size < N || deferflowDetect.size < N) && performance.now() < deadline) await sleep(100);
    const wallS = (performance.now() - t0) / 1000;
    airflowStop = true;
    reconciler.stop();
    const delays = (m: Map<number, number>) => [...m.entries()].flatMap(([i, t]) => (endAt.has(i) ? [t - endAt.get(i)!] : [])).sort((a, b) => a - b);
    const aDelays = delays(airflowDetect);
    const dDelays = delays(deferflowDetect);
    const airflowDescribes = airflowCalls.get('DescribeTrainingJob') ?? 0;
    await Promise.race([Promise.all(loops), sleep(checkMs + 5000)]);
    return {
      airflow_baseline_run: {
        model:
          'run, not computed: N independent loops, each starting at a uniform offset in [0, check interval) after its submit, then DescribeTrainingJob every check interval until terminal (deferrable SageMakerTrigger per trigger)',
        triggers: N,
        check_interval_ms: checkMs,
        duration_s: round(wallS, 2),
        describe_calls: airflowDescribes,
        calls_per_s: round(airflowDescribes / wallS, 1),
        detected: airflowDetect.size,
        detect_delay_ms_p50: round(pct(aDelays, 50)),
        detect_delay_ms_p99: round(pct(aDelays, 99)),
      },
      deferflow_run: {
        model: 'run: triggers held as the triggerer holds them (router + SageMakerReconciler), events EventBridge → SQS → SqsEventSource',
        triggers: N,
        sweep_interval_ms: sweepMs,
        safety_margin_ms: marginMs,
        duration_s: round(wallS, 2),
        describe_calls: deferflowCalls.get('DescribeTrainingJob') ?? 0,
        list_calls: deferflowCalls.get('ListTrainingJobs') ?? 0,
        sagemaker_calls: [...deferflowCalls.values()].reduce((a, b) => a + b, 0),
        calls_per_s: round([...deferflowCalls.values()].reduce((a, b) => a + b, 0) / wallS, 2),
        events: sqsEvents,
        sqs_calls: Object.fromEntries(sqsCalls),
        detected: deferflowDetect.size,
        detect_delay_ms_p50: round(pct(dDelays, 50)),
        detect_delay_ms_p99: round(pct(dDelays, 99)),
      },
      baseline_setup: { job_duration_ms: o.jobDurationMs, time_scale: o.timeScale, jobs_ended: endAt.size, create_s: round(createS, 2) },
    };
  } finally {
    airflowStop = true;
    reconciler.stop();
    timers.stop();
    for (const s of subs) s.unsubscribe();
    for (const h of held) h.drop('bench done');
    for (const c of [admin, airflowClient, deferflowClient, sqs, eventBridge]) c.destroy();
    await aws.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
