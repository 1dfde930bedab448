/**
 * Test bed for the AWS provider: a real local AWS (HTTP, SDK clients), a real FerretDB store
 * (connections encrypted at rest, XComs), and a hand-built TaskContext for calling operators'
 * execute / resume methods the way the worker does.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { startLocalAws, type LocalAws, type LocalAwsOptions } from '../../../../src/local-aws/index.ts';
import { Store } from '../../../../src/store/store.ts';
import { XComRepository, XCOM_RETURN_KEY } from '../../../../src/store/repositories/xcom-repository.ts';
import { ConnectionRepository } from '../../../../src/connections/connection-repository.ts';
import { SecretCipher } from '../../../../src/connections/secret-cipher.ts';
import { AwsClientFactory } from '../../../../src/providers/aws/aws-clients.ts';
import { S3Hook } from '../../../../src/providers/aws/hooks/s3-hook.ts';
import type { TaskContext } from '../../../../src/dag/task-context.ts';
import type { BaseOperator } from '../../../../src/dag/operator.ts';
import { TaskDeferred } from '../../../../src/dag/task-deferred.ts';
import type { EventBridgeEvent } from '../../../../src/local-aws/types.ts';
import { syntheticSageMakerEvent } from '../../../../src/providers/aws/deferral/sagemaker-events.ts';
import { serializeTrigger } from '../../../../src/triggers/serialized-trigger.ts';
import { sageMakerJobKwargsSchema, sageMakerJobTriggerKind } from '../../../../src/providers/aws/deferral/sagemaker-job-trigger.ts';

export const CONN_ID = 'aws_local';
export const ROLE = 'arn:aws:iam::000000000000:role/SageMakerRole';
export const KNN_IMAGE = '404615174143.dkr.ecr.us-east-2.amazonaws.com/knn';
export const PROCESSING_IMAGE = 'local/processor:1';
export const BUCKET = 'deferflow-test';

export interface Harness {
  aws: LocalAws;
  store: Store;
  connections: ConnectionRepository;
  clients: AwsClientFactory;
  s3: S3Hook;
  dataDir: string;
  close(): Promise<void>;
}

export async function startHarness(name: string, opts: Partial<LocalAwsOptions> = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), `deferflow-${name}-`));
  const aws = await startLocalAws({
    dataDir,
    port: 0,
    faults: { stageDelayMs: 15 },
    scriptImages: { [PROCESSING_IMAGE]: { command: [process.execPath, '-e', "console.log('processing step 1'); console.log('processing step 2')"] } },
    ...opts,
  });
  const store = await Store.connect({
    uri: process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017',
    dbName: `deferflow_test_${name}_${randomBytes(4).toString('hex')}`,
  });
  const connections = new ConnectionRepository(store, { cipher: new SecretCipher(randomBytes(32)), env: {} });
  await connections.upsert({
    conn_id: CONN_ID,
    conn_type: 'aws',
    login: 'AKIALOCALTEST',
    password: 'local-secret-access-key',
    extra: { region_name: 'us-east-1', endpoint_url: aws.url },
  });
  const clients = new AwsClientFactory({ connections });
  const s3 = new S3Hook({ aws_conn_id: CONN_ID, clients });
  return {
    aws,
    store,
    connections,
    clients,
    s3,
    dataDir,
    async close() {
      clients.destroy();
      await aws.close();
      await store.dropDatabase();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Iris as SageMaker's KNN wants it: label first for training, features only for inference. */
export async function uploadIris(h: Harness, prefix: string): Promise<{ train: string; test: string }> {
  const species = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];
  const rows = readFileSync(new URL('../../../../dags/data/iris.data', import.meta.url), 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim())
    .map((l) => l.split(','));
  if (!(await h.s3.checkForBucket(BUCKET))) await h.s3.createBucket(BUCKET);
  const train = rows.filter((_, i) => i % 5 !== 0).map((r) => [species.indexOf(r[4]), ...r.slice(0, 4)].join(','));
  const test = rows.filter((_, i) => i % 5 === 0).map((r) => r.slice(0, 4).join(','));
  await h.s3.loadString(train.join('\n') + '\n', `${prefix}/train/train.csv`, BUCKET, true);
  await h.s3.loadString(test.join('\n') + '\n', `${prefix}/test/test.csv`, BUCKET, true);
  return { train: `s3://${BUCKET}/${prefix}/train/`, test: `s3://${BUCKET}/${prefix}/test/test.csv` };
}

export function trainingConfig(jobName: string, trainUri: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    TrainingJobName: jobName,
    AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
    // Numbers on purpose: they must reach SageMaker as strings.
    HyperParameters: { predictor_type: 'classifier', feature_dim: 4, k: 3, sample_size: 120 },
    InputDataConfig: [
      { ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: trainUri } }, ContentType: 'text/csv', InputMode: 'File' },
    ],
    OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/results/` },
    // Strings on purpose: rendered templates give strings; integer_fields casts them.
    ResourceConfig: { InstanceCount: '1', InstanceType: 'ml.m5.large', VolumeSizeInGB: '1' },
    RoleArn: ROLE,
    StoppingCondition: { MaxRuntimeInSeconds: '600' },
    ...extra,
  };
}

export interface TestTry {
  ctx: TaskContext;
  lines: string[];
  abort: AbortController;
}

let runCounter = 0;

/** A TaskContext as the worker builds it (XComs in FerretDB, a logger whose lines we keep). */
export async function makeTry(
  h: Harness,
  op: BaseOperator,
  opts: { runId?: string; tryNumber?: number; dagId?: string; clearXComs?: boolean } = {},
): Promise<TestTry> {
  const dagId = opts.dagId ?? 'aws_provider_test';
  const runId = opts.runId ?? `manual__${Date.now()}_${++runCounter}`;
  const tryNumber = opts.tryNumber ?? 1;
  const xcoms = new XComRepository(h.store);
  const owner = { _id: `${dagId}|${runId}|${op.taskId}`, dag_id: dagId, run_id: runId, task_id: op.taskId, map_index: -1 };
  if (opts.clearXComs) await xcoms.deleteForTaskInstance(owner as never);
  const docs = await h.store.xcom.find({ dag_id: dagId, run_id: runId }).toArray();
  const cache = new Map<string, unknown>(docs.map((d) => [`${d.task_id}|${d.key}`, JSON.parse(d.value) as unknown]));
  const lines: string[] = [];
  const log: Logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(String((JSON.parse(line) as { msg?: string }).msg ?? '')) });
  const abort = new AbortController();
  const handle = {
    dag_id: dagId,
    run_id: runId,
    task_id: op.taskId,
    try_number: tryNumber,
    max_tries: 3,
    xcom_pull: (taskIds: unknown, key?: string) => cache.get(`${String(taskIds)}|${key ?? XCOM_RETURN_KEY}`),
    xcom_push: async (key: string, value: unknown) => {
      await xcoms.push(owner as never, key, value);
      cache.set(`${op.taskId}|${key}`, value);
    },
  };
  const ctx = {
    ds: '2025-01-01',
    ds_nodash: '20250101',
    ts: '2025-01-01T00:00:00+00:00',
    ts_nodash: '20250101T000000',
    run_id: runId,
    params: {},
    dag_run: { conf: {}, run_id: runId, run_type: 'manual', logical_date: new Date() },
    logical_date: new Date(),
    data_interval_start: new Date(),
    data_interval_end: new Date(),
    ti: handle,
    task_instance: handle,
    log,
    signal: abort.signal,
    services: { awsClients: h.clients },
    render: (t: string) => t,
    getVariable: async () => '',
    // No lease here: nothing else can take this try over.
    fence: async () => undefined,
  } as unknown as TaskContext;
  return { ctx, lines, abort };
}

/** The worker's per-try copy of an operator. */
export function tryCopy<T extends BaseOperator>(op: T): T {
  return op.copyForTry();
}

/** Run execute and return the deferral it asked for (fails the test if it did not defer). */
export async function executeExpectingDeferral(op: BaseOperator, ctx: TaskContext): Promise<TaskDeferred> {
  try {
    const v = await op.execute(ctx);
    throw new Error(`expected a deferral, execute returned ${JSON.stringify(v)}`);
  } catch (e) {
    if (e instanceof TaskDeferred) return e;
    throw e;
  }
}

/**
 * Every event local AWS publishes, recorded from before a job is submitted; `payloadFor` maps them
 * through the real trigger kind's `fromEvent`, giving the payload the triggerer would resume with.
 */
export function recordEvents(aws: LocalAws): { payloadFor(d: TaskDeferred, timeoutMs?: number): Promise<unknown>; stop(): void } {
  const seen: EventBridgeEvent[] = [];
  const sub = aws.events$.subscribe((e) => seen.push(e));
  return {
    async payloadFor(d, timeoutMs = 30_000) {
      const trigger = serializeTrigger(d.request.trigger);
      const kwargs = sageMakerJobKwargsSchema.parse(trigger.kwargs);
      const until = Date.now() + timeoutMs;
      for (;;) {
        for (const e of seen) {
          const ev = sageMakerJobTriggerKind.fromEvent!(kwargs, e as never);
          if (ev) return ev.payload;
        }
        if (Date.now() > until) throw new Error(`no terminal event for ${kwargs.job_type} ${kwargs.job_name}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: () => sub.unsubscribe(),
  };
}

/**
 * The payload the triggerer's watcher path produces (start-up Describe / reconcile sweep): poll
 * Describe until terminal, then map the synthetic state-change event through the trigger kind.
 */
export async function payloadFromDescribe(d: TaskDeferred, describe: () => Promise<Record<string, unknown>>, statusField: string): Promise<unknown> {
  const kwargs = sageMakerJobKwargsSchema.parse(serializeTrigger(d.request.trigger).kwargs);
  const desc = await waitForTerminal(describe, statusField);
  const event = syntheticSageMakerEvent({
    type: kwargs.job_type,
    name: kwargs.job_name,
    status: String(desc[statusField]),
    failureReason: (desc.FailureReason as string) ?? null,
    region: 'us-east-1',
    origin: 'test-describe',
  });
  const ev = sageMakerJobTriggerKind.fromEvent!(kwargs, event as never);
  if (!ev) throw new Error(`trigger kind did not accept ${JSON.stringify(event.detail)}`);
  return ev.payload;
}

/** Poll Describe until terminal (for jobs started outside an operator). */
export async function waitForTerminal(
  describe: () => Promise<Record<string, unknown>>,
  statusField: string,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const d = await describe();
    const s = String(d[statusField]);
    if (['Completed', 'Failed', 'Stopped', 'InService'].includes(s)) return d;
    if (Date.now() > until) throw new Error(`still ${s} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
