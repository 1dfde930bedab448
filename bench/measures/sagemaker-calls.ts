/**
 * SageMaker API calls per deferred job, for `npm run bench -- round-trips`:
 *
 *   sagemaker_calls_per_job, sagemaker_calls (by operation), sagemaker_jobs
 *       a DAG of `--sm-jobs` (10) parallel SageMakerTrainingOperatorAsync tasks, run by one Runtime
 *       (scheduler, worker, triggerer) against the embedded local AWS, events through the
 *       deployment's own EventBridge rule → SQS queue (what `aws setup-events` makes), once per job
 *       length in `--sm-job-ms` (3000,20000: the count must not grow with the job's length). Every
 *       SageMaker command any of them sends is counted at the `send` of the clients the
 *       AwsClientFactory hands out, reconcile sweeps included. The flat
 *       figure is the worst of the lengths.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { PutObjectCommand, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ConnectionRepository } from '../../src/connections/connection-repository.ts';
import { SecretCipher } from '../../src/connections/secret-cipher.ts';
import { DAG } from '../../src/dag/index.ts';
import { startLocalAws } from '../../src/local-aws/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { AwsClientFactory } from '../../src/providers/aws/aws-clients.ts';
import { othersEventFor } from '../../src/providers/aws/deployment-events.ts';
import { SageMakerTrainingOperatorAsync } from '../../src/providers/aws/operators/sagemaker-training-operator-async.ts';
import { setupSageMakerEvents } from '../../src/providers/aws/setup-events.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { deploymentIdOf } from '../../src/store/repositories/deployment-repository.ts';
import { Store } from '../../src/store/store.ts';
import { SqsEventSource } from '../../triggerer/sources/sqs-event-source.ts';
import type { MeasureContext } from './measure-context.ts';

const CONN_ID = 'aws_bench';
const BUCKET = 'deferflow-bench';

/** The factory's SageMaker clients, each counting the commands sent through it. */
class CountingClients extends AwsClientFactory {
  readonly calls = new Map<string, number>();
  private readonly proxies = new WeakMap<SageMakerClient, SageMakerClient>();

  override sagemaker(connId?: string | null, region?: string | null): SageMakerClient {
    const client = super.sagemaker(connId, region);
    let proxy = this.proxies.get(client);
    if (!proxy) {
      // The factory's clients are facades that build the real client in `send` (its connection is
      // resolved then): count there, once per command sent (the SDK's own retries are not counted).
      const send = client.send.bind(client) as (command: { constructor: { name: string } }, options?: unknown) => Promise<unknown>;
      const counting = (command: { constructor: { name: string } }, options?: unknown) => {
        const op = command.constructor.name.replace(/Command$/, '');
        this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
        return send(command, options);
      };
      // A stand-in of the same class (instanceof holds) that forwards everything but `send`.
      proxy = new Proxy(Object.create(Object.getPrototypeOf(client)) as SageMakerClient, {
        get: (_t, key) => (key === 'send' ? counting : Reflect.get(client, key, client)),
      });
      this.proxies.set(client, proxy);
    }
    return proxy;
  }
}

async function runJobs(uri: string, jobs: number, jobMs: number): Promise<{ calls: Record<string, number>; perJob: number; succeeded: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'deferflow-bench-sm-'));
  const aws = await startLocalAws({ dataDir, port: 0, faults: { simulateJobs: true, jobDurationMs: jobMs, stageDelayMs: 50 } });
  const store = await Store.connect({ uri, dbName: `deferflow_bench_sm_${randomBytes(4).toString('hex')}` });
  const logger = createLogger({ level: 'error', format: 'json', destination: process.stderr });
  const connections = new ConnectionRepository(store, { cipher: new SecretCipher(randomBytes(32)), env: {} });
  await connections.upsert({
    conn_id: CONN_ID,
    conn_type: 'aws',
    login: 'AKIALOCALBENCH',
    password: 'local-secret-access-key',
    extra: { region_name: 'us-east-1', endpoint_url: aws.url },
  });
  const clients = new CountingClients({ connections });
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: aws.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIALOCALBENCH', secretAccessKey: 'x' },
  });
  let rt: Runtime | null = null;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'train/train.csv', Body: '0,5.1,3.5,1.4,0.2\n1,7.0,3.2,4.7,1.4\n' }));
    const deploymentId = await deploymentIdOf(store);
    const events = await setupSageMakerEvents({ clients, connId: CONN_ID, deploymentId });
    const dag = new DAG({ dagId: 'bench_sm_calls', schedule: null, startDate: '2025-01-01' }, () => {
      for (let i = 0; i < jobs; i++) {
        new SageMakerTrainingOperatorAsync({
          taskId: `train_${i}`,
          aws_conn_id: CONN_ID,
          print_log: false,
          config: {
            TrainingJobName: `bench-calls-${i}-{{ ts_nodash }}`,
            AlgorithmSpecification: { TrainingImage: '404615174143.dkr.ecr.us-east-2.amazonaws.com/knn', TrainingInputMode: 'File' },
            HyperParameters: { predictor_type: 'classifier', feature_dim: '4', k: '1', sample_size: '2' },
            InputDataConfig: [
              { ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/train/` } }, ContentType: 'text/csv' },
            ],
            OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/out/` },
            ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
            RoleArn: 'arn:aws:iam::000000000000:role/SageMakerRole',
            StoppingCondition: { MaxRuntimeInSeconds: 3600 },
          },
        });
      }
    });
    rt = await Runtime.create({
      store,
      dags: [dag],
      logger,
      services: { awsClients: clients },
      eventSources: [
        new SqsEventSource({ client: clients.sqs(CONN_ID), queueUrl: events.queueUrl, waitTimeSeconds: 1, othersEvent: othersEventFor(deploymentId), logger }),
      ],
      components: { worker: { slots: Math.max(4, jobs) } },
    });
    await rt.start();
    clients.calls.clear();
    const run = await rt.triggerDag('bench_sm_calls', { runId: `bench_${randomBytes(3).toString('hex')}` });
    await rt.waitForRun('bench_sm_calls', run.run_id, { timeoutMs: 10 * 60_000 });
    const succeeded = await store.taskInstances.countDocuments({ dag_id: 'bench_sm_calls', run_id: run.run_id, state: 'success' });
    const calls = Object.fromEntries([...clients.calls].sort());
    const total = [...clients.calls.values()].reduce((a, b) => a + b, 0);
    return { calls, perJob: Math.round((total / jobs) * 100) / 100, succeeded };
  } finally {
    await rt?.stop();
    clients.destroy();
    s3.destroy();
    await aws.close();
    await store.dropDatabase().catch(() => undefined);
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function argList(argv: readonly string[], flag: string, fallback: string): number[] {
  const at = argv.indexOf(flag);
  return (at >= 0 ? (argv[at + 1] ?? '') : fallback)
    .split(',')
    .map(Number)
    .filter((x) => Number.isFinite(x) && x > 0);
}

export async function measure(ctx: MeasureContext): Promise<Record<string, unknown>> {
  const jobs = argList(ctx.argv, '--sm-jobs', '10')[0] ?? 10;
  const byLength: Array<Record<string, unknown>> = [];
  let worst = 0;
  for (const ms of argList(ctx.argv, '--sm-job-ms', '3000,20000')) {
    const r = await runJobs(ctx.uri, jobs, ms);
    worst = Math.max(worst, r.perJob);
    byLength.push({ job_ms: ms, jobs, succeeded: r.succeeded, sagemaker_calls_per_job: r.perJob, sagemaker_calls: r.calls });
  }
  return { sagemaker_calls_per_job: worst, sagemaker_jobs: jobs, sagemaker_calls_by_job_length: byLength };
}
