/**
 * Issue 3's done criterion, end to end: a task submits a 10 s SageMaker training job on the local
 * AWS (simulated timeline stretched by the `jobDurationMs` fault knob), defers, and is resumed by
 * the job's EventBridge → SQS state-change event — run by a Runtime (scheduler + worker +
 * triggerer, SqsEventSource on the queue that `setupSageMakerEvents` created, AwsClientFactory as
 * the `awsClients` service). While the job runs the task is `deferred` and holds no worker slot
 * (sampled every 100 ms); afterwards it is `success`.
 *
 * The event → success latency is printed, not asserted tightly: speed belongs in BENCHMARKS.md
 * (bench/deferral.ts); the bound here only catches a resume that never comes from the event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { DAG } from '../../../src/dag/dag.ts';
import { Runtime } from '../../../src/runtime/runtime.ts';
import { Store } from '../../../src/store/store.ts';
import { createLogger } from '../../../src/log/logger.ts';
import type { Connection } from '../../../src/connections/connection.ts';
import { AwsClientFactory } from '../../../src/providers/aws/aws-clients.ts';
import { setupSageMakerEvents } from '../../../src/providers/aws/setup-events.ts';
import { SageMakerTrainingOperatorAsync } from '../../../src/providers/aws/operators/sagemaker-training-operator-async.ts';
import { SqsEventSource } from '../../../triggerer/sources/sqs-event-source.ts';
import type { EventBridgeEvent } from '../../../src/events/eventbridge-event.ts';
import { startTestAws, ROLE, KNN_IMAGE, type TestAws } from '../../local-aws/helpers.ts';
import { MONGODB_URI } from './triggerer-harness.ts';

const JOB_MS = 10_000;
const CONN_ID = 'aws_local_10s';
const JOB_NAME = 'ten-second-knn';

const dag = new DAG({ dagId: 'ten_second_job', schedule: null, startDate: '2025-01-01' }, () => {
  new SageMakerTrainingOperatorAsync({
    taskId: 'train',
    aws_conn_id: CONN_ID,
    print_log: false,
    config: {
      TrainingJobName: JOB_NAME,
      AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
      HyperParameters: { predictor_type: 'classifier', feature_dim: '4', k: '3', sample_size: '120' },
      RoleArn: ROLE,
      OutputDataConfig: { S3OutputPath: 's3://deferflow-10s/out/' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
    },
  });
});

let aws: TestAws;
let store: Store;
let clients: AwsClientFactory;
let rt: Runtime;

beforeAll(async () => {
  aws = await startTestAws({ faults: { simulateJobs: true, jobDurationMs: JOB_MS } });
  store = await Store.connect({ uri: MONGODB_URI, dbName: `deferflow_test_ten_second_job_${randomBytes(4).toString('hex')}` });
  const conn: Connection = {
    conn_id: CONN_ID,
    conn_type: 'aws',
    description: null,
    host: null,
    schema: null,
    login: 'test',
    password: 'test',
    port: null,
    extra: JSON.stringify({ region_name: 'us-east-1', endpoint_url: aws.aws.url }),
  };
  clients = new AwsClientFactory({ connections: (id) => (id === CONN_ID ? conn : null) });
  const events = await setupSageMakerEvents({
    clients: { sqs: (c, r) => clients.sqs(c, r), eventBridge: (c, r) => clients.eventBridge(c, r) },
    connId: CONN_ID,
  });
  const logger = createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'warn', format: 'json' });
  rt = await Runtime.create({
    store,
    dags: [dag],
    logger,
    services: { awsClients: clients },
    eventSources: [new SqsEventSource({ client: clients.sqs(CONN_ID), queueUrl: events.queueUrl, waitTimeSeconds: 1, visibilityTimeout: 30, logger })],
    components: {
      scheduler: { loopIntervalMs: 100 },
      worker: { pollIntervalMs: 100, slots: 2 },
      // The sweep must not be what resumes the task: this test is about the event path.
      triggerer: { pollIntervalMs: 100, heartbeatMs: 500, sweepIntervalMs: 600_000 },
    },
  });
  await rt.start();
}, 30_000);

afterAll(async () => {
  await rt?.stop();
  await store?.dropDatabase().catch(() => undefined);
  await store?.close();
  clients?.destroy();
  await aws?.close();
});

interface Sample {
  at: number;
  slots: number;
  state: string | null;
}

describe('a task deferred on a 10 s SageMaker job (issue 3)', () => {
  it('holds no worker slot while the job runs, and succeeds from the completion event', async () => {
    let tiState: string | null = null;
    let deferredAt: number | null = null;
    let scheduledAt: number | null = null;
    let successAt: number | null = null;
    const tiSub = rt.events$.subscribe((e) => {
      if (e.type !== 'task_instance' || e.taskId !== 'train') return;
      tiState = e.state;
      if (e.state === 'deferred') deferredAt ??= Date.now();
      if (e.state === 'scheduled' && e.previous === 'deferred') scheduledAt ??= Date.now();
      if (e.state === 'success') successAt ??= Date.now();
    });
    // The job's terminal event as the local AWS publishes it (same process: exact wall time).
    let completed: { at: number; event: EventBridgeEvent } | null = null;
    let createdAt: number | null = null;
    const awsSub = aws.aws.events$.subscribe((e) => {
      const detail = e.detail as { TrainingJobName?: string; TrainingJobStatus?: string };
      if (e['detail-type'] !== 'SageMaker Training Job State Change' || detail.TrainingJobName !== JOB_NAME) return;
      if (detail.TrainingJobStatus === 'InProgress') createdAt ??= Date.now();
      if (detail.TrainingJobStatus === 'Completed') completed ??= { at: Date.now(), event: e };
    });
    const samples: Sample[] = [];
    const sampler = setInterval(() => samples.push({ at: Date.now(), slots: rt.worker!.slotsInUse, state: tiState }), 100);

    try {
      const run = await rt.triggerDag('ten_second_job');
      const done = await rt.waitForRun('ten_second_job', run.run_id, { timeoutMs: 45_000 });
      expect(done.state).toBe('success');
    } finally {
      clearInterval(sampler);
      tiSub.unsubscribe();
      awsSub.unsubscribe();
    }

    const ti = await store.taskInstances.findOne({ dag_id: 'ten_second_job', task_id: 'train' });
    expect(ti?.state).toBe('success');
    expect(ti?.try_number).toBe(1);
    expect(deferredAt).not.toBeNull();
    expect(completed).not.toBeNull();
    expect(successAt).not.toBeNull();
    const done = completed!;

    // The job really ran for ~10 s, and the task was deferred before it ended.
    expect(done.at - createdAt!).toBeGreaterThanOrEqual(JOB_MS * 0.9);
    expect(deferredAt!).toBeLessThan(done.at);

    // While the job ran (task deferred → terminal event): deferred, 0 slots, in (nearly) every sample.
    const window = samples.filter((s) => s.at > deferredAt! + 100 && s.at < done.at);
    expect(window.length).toBeGreaterThanOrEqual(80); // ≥ 8 s of 100 ms samples
    const idle = window.filter((s) => s.slots === 0 && s.state === 'deferred');
    expect(idle.length / window.length).toBeGreaterThanOrEqual(0.98);

    // Resumed after (and by) the terminal event: the sweep interval is 10 min and the start-up
    // Describe saw the job still running, so nothing else could have resumed it.
    const eventTimeMs = Date.parse(done.event.time);
    const toScheduled = scheduledAt! - done.at;
    const toSuccess = successAt! - done.at;
    console.log(
      `[ten-second-job] job ${((done.at - createdAt!) / 1000).toFixed(1)} s; deferred (0 slots) in ${idle.length}/${window.length} samples; ` +
        `completion event (emitted ${new Date(done.at).toISOString()}, event time ${done.event.time}) → scheduled ${toScheduled} ms → success ${toSuccess} ms ` +
        `(from event.time: ${successAt! - eventTimeMs} ms)`,
    );
    expect(toScheduled).toBeGreaterThanOrEqual(0);
    expect(toSuccess).toBeLessThan(10_000);
  }, 60_000);
});
