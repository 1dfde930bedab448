/**
 * The SageMaker operators inside whole DAG runs: a real local AWS (jobs really run), its
 * EventBridge → SQS plumbing made by setupSageMakerEvents, and a Runtime with scheduler, worker and
 * triggerer consuming that queue with SqsEventSource. Nothing is called by hand: the test triggers
 * DAG runs and reads what the processes wrote (task instances, XComs, task logs, SageMaker jobs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListTrainingJobsCommand } from '@aws-sdk/client-sagemaker';
import { DAG, chain } from '../../../../src/dag/index.ts';
import { Runtime } from '../../../../src/runtime/runtime.ts';
import { Worker } from '../../../../src/worker/worker.ts';
import { SqsEventSource } from '../../../../triggerer/sources/sqs-event-source.ts';
import { createLogger } from '../../../../src/log/logger.ts';
import { setupSageMakerEvents } from '../../../../src/providers/aws/setup-events.ts';
import { SageMakerTrainingOperator } from '../../../../src/providers/aws/operators/sagemaker-training-operator.ts';
import { SageMakerTrainingOperatorAsync } from '../../../../src/providers/aws/operators/sagemaker-training-operator-async.ts';
import { SageMakerModelOperator } from '../../../../src/providers/aws/operators/sagemaker-model-operator.ts';
import { SageMakerTransformOperatorAsync } from '../../../../src/providers/aws/operators/sagemaker-transform-operator-async.ts';
import type { SageMakerJobArgs } from '../../../../src/providers/aws/operators/sagemaker-job-operator.ts';
import { TaskLogRepository } from '../../../../src/store/repositories/task-log-repository.ts';
import { taskInstanceId, type TaskInstanceDoc } from '../../../../src/store/schema.ts';
import { BUCKET, CONN_ID, KNN_IMAGE, ROLE, startHarness, trainingConfig, uploadIris, type Harness } from './harness.ts';
import { poller } from '../../../support/wait-for.ts';

/** A training "container" that prints one line every 150 ms: lines arrive while the task is deferred. */
const SLOW_IMAGE = 'local/slow-trainer:1';
const SLOW_LINES = 14;
const SLOW_SCRIPT = `let i = 0; const t = setInterval(() => { i++; console.log('epoch ' + i + ' of ${SLOW_LINES} loss=' + (1 / i).toFixed(4)); if (i === ${SLOW_LINES}) { clearInterval(t); require('fs').writeFileSync(process.env.SM_MODEL_DIR + '/model.txt', 'ok'); } }, 150);`;

const logger = createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'silent', format: 'json' });
let h: Harness;
let data: { train: string; test: string };
let rt: Runtime;
let extraWorker: Worker | null = null;

// ---------------------------------------------------------------- DAGs (built once the data is in S3)

const MODEL_DATA_URL = "{{ ti.xcom_pull(task_ids='train_model')['Training']['ModelArtifacts']['S3ModelArtifacts'] }}";
const fast = { aws_conn_id: CONN_ID, check_interval: 0.1 } as const;

/** train_model → create_model → test_model, names from the run's conf (`{{ params.name }}`). */
function pipelineDag(dagId: string, deferrableTraining: boolean): DAG {
  return new DAG({ dagId, schedule: null, startDate: '2025-01-01', defaultArgs: { retries: 0, retry_delay: 0 } }, () => {
    const trainArgs = { taskId: 'train_model', config: trainingConfig('{{ params.name }}-train', data.train), ...fast };
    const train = deferrableTraining ? new SageMakerTrainingOperatorAsync(trainArgs) : new SageMakerTrainingOperator(trainArgs);
    const model = new SageMakerModelOperator({
      taskId: 'create_model',
      aws_conn_id: CONN_ID,
      config: {
        ModelName: '{{ params.name }}-model',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Mode: 'SingleModel', Image: KNN_IMAGE, ModelDataUrl: MODEL_DATA_URL },
      },
    });
    const transform = new SageMakerTransformOperatorAsync({
      taskId: 'test_model',
      ...fast,
      config: {
        TransformJobName: '{{ params.name }}-test',
        ModelName: '{{ params.name }}-model',
        TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: data.test } }, ContentType: 'text/csv', SplitType: 'Line' },
        TransformOutput: { S3OutputPath: `s3://${BUCKET}/predictions/{{ params.name }}/`, Accept: 'text/csv', AssembleWith: 'Line' },
        TransformResources: { InstanceCount: '1', InstanceType: 'ml.m5.large' },
      },
    });
    chain(train, model, transform);
  });
}

/** One training task; `extra` are operator arguments (action_if_job_exists, retries, config overrides…). */
function trainingDag(
  dagId: string,
  opts: { deferrable?: boolean; extra?: Partial<SageMakerJobArgs>; config?: Record<string, unknown>; image?: string } = {},
): DAG {
  return new DAG({ dagId, schedule: null, startDate: '2025-01-01', defaultArgs: { retries: 0, retry_delay: 0 } }, () => {
    const config = trainingConfig('{{ params.name }}', data.train, opts.config ?? {});
    if (opts.image) config.AlgorithmSpecification = { TrainingImage: opts.image, TrainingInputMode: 'File' };
    const args = { taskId: 'train_model', config, ...fast, ...(opts.extra ?? {}) };
    if (opts.deferrable) new SageMakerTrainingOperatorAsync(args);
    else new SageMakerTrainingOperator(args);
  });
}

/**
 * A deferrable training whose first try "loses its worker" right after CreateTrainingJob: the
 * worker process dies (simulateCrash) before the deferral is written. Try 2 runs on another worker.
 */
class CrashOnceTraining extends SageMakerTrainingOperatorAsync {
  static crashWorker: (() => void) | null = null;
  override defer(...args: Parameters<SageMakerTrainingOperatorAsync['defer']>): never {
    const crash = CrashOnceTraining.crashWorker;
    if (crash) {
      CrashOnceTraining.crashWorker = null;
      crash();
      throw new Error('worker killed between CreateTrainingJob and defer');
    }
    return super.defer(...args);
  }
}

const dags: Record<string, () => DAG> = {
  sync_pipeline: () => pipelineDag('sm_sync_pipeline', false),
  async_pipeline: () => pipelineDag('sm_async_pipeline', true),
  fails: () => trainingDag('sm_fails', { deferrable: true, extra: { retries: 1, print_log: false } }),
  invalid: () => trainingDag('sm_invalid', { config: { RoleArn: 'not-an-arn' }, extra: { retries: 1 } }),
  increment: () => trainingDag('sm_increment', { extra: { action_if_job_exists: 'increment', print_log: false } }),
  timestamp: () => trainingDag('sm_timestamp', { extra: { print_log: false } }),
  fail_mode: () => trainingDag('sm_fail_mode', { extra: { action_if_job_exists: 'fail', print_log: false } }),
  skip_mode: () => trainingDag('sm_skip_mode', { extra: { action_if_job_exists: 'skip', print_log: false } }),
  print_log: () => trainingDag('sm_print_log', { deferrable: true, image: SLOW_IMAGE }),
  crash: () =>
    new DAG({ dagId: 'sm_crash', schedule: null, startDate: '2025-01-01', defaultArgs: { retries: 1, retry_delay: 0 } }, () => {
      new CrashOnceTraining({ taskId: 'train_model', config: trainingConfig('{{ params.name }}', data.train), ...fast, print_log: false });
    }),
};

beforeAll(async () => {
  h = await startHarness('sm_dag_runs', {
    faults: { stageDelayMs: 15 },
    // '--': SageMaker's hyper-parameters follow as the script's own arguments.
    scriptImages: { [SLOW_IMAGE]: { command: [process.execPath, '-e', SLOW_SCRIPT, '--'] } },
  });
  data = await uploadIris(h, 'iris-dag');
  const events = await setupSageMakerEvents({ clients: h.clients, connId: CONN_ID, queueName: 'deferflow-dag-runs' });
  rt = await Runtime.create({
    store: h.store,
    dags: Object.values(dags).map((make) => make()),
    logger,
    services: { awsClients: h.clients },
    eventSources: [new SqsEventSource({ client: h.clients.sqs(CONN_ID), queueUrl: events.queueUrl, waitTimeSeconds: 1, visibilityTimeout: 10, logger })],
    components: {
      scheduler: { loopIntervalMs: 50 },
      // Short lease: the crashed worker's try becomes a zombie within a second.
      worker: { pollIntervalMs: 50, slots: 4, logFlushMs: 50, leaseMs: 900, heartbeatMs: 150 },
      // The sweep would also find ended jobs; make it rare so these runs prove the event path.
      triggerer: { pollIntervalMs: 50, heartbeatMs: 200, sweepIntervalMs: 600_000 },
    },
  });
  await rt.start();
}, 90_000);

afterAll(async () => {
  await extraWorker?.stop({ timeoutMs: 500 });
  await rt?.stop();
  await h?.close();
});

// ---------------------------------------------------------------- helpers

async function run(dagId: string, name: string): Promise<{ runId: string; state: string }> {
  const r = await rt.triggerDag(dagId, { runId: `run_${name}`, conf: { name } });
  const done = await rt.waitForRun(dagId, r.run_id, { timeoutMs: 60_000 });
  return { runId: r.run_id, state: done.state };
}

async function ti(dagId: string, runId: string, taskId: string): Promise<TaskInstanceDoc> {
  const doc = await rt.store.taskInstances.findOne({ _id: taskInstanceId(dagId, runId, taskId) });
  if (!doc) throw new Error(`no task instance ${dagId}/${runId}/${taskId}`);
  return doc;
}

async function xcom(dagId: string, runId: string, taskId: string): Promise<Record<string, Record<string, unknown>>> {
  const doc = await rt.store.xcom.findOne({ dag_id: dagId, run_id: runId, task_id: taskId, key: 'return_value' });
  if (!doc) throw new Error(`no return value of ${taskId}`);
  return JSON.parse(doc.value) as Record<string, Record<string, unknown>>;
}

async function trainingJobs(fragment: string): Promise<Array<{ name: string; status: string }>> {
  const out = await h.clients.sagemaker(CONN_ID).send(new ListTrainingJobsCommand({ NameContains: fragment, MaxResults: 100 }));
  return (out.TrainingJobSummaries ?? []).map((j) => ({ name: j.TrainingJobName!, status: j.TrainingJobStatus! })).sort((a, b) => a.name.localeCompare(b.name));
}

const waitFor = poller({ timeoutMs: 30_000, intervalMs: 25 });

/**
 * Sample the worker's busy slots while `taskId` is deferred, from 300 ms after the deferral on
 * (the worker frees the slot once the try's last log batch is flushed, just after the state change).
 */
function sampleSlotsWhileDeferred(dagId: string, taskId: string): { samples: number[]; stop(): void } {
  const samples: number[] = [];
  let deferredAt: number | null = null;
  const sub = rt.events$.subscribe((e) => {
    if (e.type === 'task_instance' && e.dagId === dagId && e.taskId === taskId) deferredAt = e.state === 'deferred' ? Date.now() : null;
  });
  const timer = setInterval(() => {
    if (deferredAt !== null && Date.now() - deferredAt >= 300) samples.push(rt.worker!.slotsInUse);
  }, 20);
  return {
    samples,
    stop: () => {
      clearInterval(timer);
      sub.unsubscribe();
    },
  };
}

/** The container's own lines: KNN's `[MM/DD/YYYY hh:mm:ss LEVEL pid] …` / `#metrics …`, the slow trainer's `epoch N of …`. */
const jobLinesOf = (msgs: string[]): string[] => msgs.filter((m) => /^\[\d\d\/\d\d\/\d{4} /.test(m) || m.startsWith('#') || /^epoch \d+ of/.test(m));

// ---------------------------------------------------------------- tests

describe('SageMaker pipeline DAGs (train → create model → batch transform)', () => {
  it('sync training → model (ModelDataUrl from the training XCom) → deferrable transform', async () => {
    const r = await run('sm_sync_pipeline', 'dag-sync');
    expect(r.state).toBe('success');
    const train = await ti('sm_sync_pipeline', r.runId, 'train_model');
    const model = await ti('sm_sync_pipeline', r.runId, 'create_model');
    const transform = await ti('sm_sync_pipeline', r.runId, 'test_model');
    expect([train.state, model.state, transform.state]).toEqual(['success', 'success', 'success']);
    // The sync operator held its slot the whole time; the async transform gave it back.
    expect(train.deferred_ms).toBe(0);
    expect(transform.deferred_ms).toBeGreaterThan(0);
    expect(transform.try_number).toBe(1);

    const trained = await xcom('sm_sync_pipeline', r.runId, 'train_model');
    expect(trained.Training).toMatchObject({ TrainingJobName: 'dag-sync-train', TrainingJobStatus: 'Completed' });
    const artifact = (trained.Training.ModelArtifacts as { S3ModelArtifacts: string }).S3ModelArtifacts;
    expect(artifact).toBe(`s3://${BUCKET}/results/dag-sync-train/output/model.tar.gz`);
    // The seed's template rendered the training result into the model task's config.
    expect(JSON.parse(model.rendered_fields!).config.PrimaryContainer.ModelDataUrl).toBe(artifact);
    const created = await xcom('sm_sync_pipeline', r.runId, 'create_model');
    expect(created.Model).toMatchObject({ ModelName: 'dag-sync-model', PrimaryContainer: { ModelDataUrl: artifact } });
    const tested = await xcom('sm_sync_pipeline', r.runId, 'test_model');
    expect(tested.Transform).toMatchObject({ TransformJobName: 'dag-sync-test', TransformJobStatus: 'Completed', ModelName: 'dag-sync-model' });
    expect(await h.s3.listKeys(BUCKET, 'predictions/dag-sync/')).toEqual(['predictions/dag-sync/test.csv.out']);
  }, 90_000);

  it('deferrable training: no worker slot while the job runs, resumed by the SQS event; KNN log lines once', async () => {
    h.aws.setFaults({ jobDurationMs: 1500 });
    const slots = sampleSlotsWhileDeferred('sm_async_pipeline', 'train_model');
    let r;
    try {
      r = await run('sm_async_pipeline', 'dag-async');
    } finally {
      slots.stop();
      h.aws.setFaults({ jobDurationMs: null });
    }
    expect(r.state).toBe('success');
    const train = await ti('sm_async_pipeline', r.runId, 'train_model');
    const transform = await ti('sm_async_pipeline', r.runId, 'test_model');
    expect(train.state).toBe('success');
    expect(train.try_number).toBe(1);
    expect(train.deferred_ms).toBeGreaterThan(500);
    // A worker held the task only to submit and to resume: a small part of the job's time.
    expect(train.running_ms).toBeLessThan(train.deferred_ms);
    expect(slots.samples.length).toBeGreaterThan(5);
    expect(Math.max(...slots.samples)).toBe(0);
    expect(transform.deferred_ms).toBeGreaterThan(0);

    const trained = await xcom('sm_async_pipeline', r.runId, 'train_model');
    expect(trained.Training).toMatchObject({ TrainingJobName: 'dag-async-train', TrainingJobStatus: 'Completed' });
    const model = await ti('sm_async_pipeline', r.runId, 'create_model');
    expect(JSON.parse(model.rendered_fields!).config.PrimaryContainer.ModelDataUrl).toBe(
      (trained.Training.ModelArtifacts as { S3ModelArtifacts: string }).S3ModelArtifacts,
    );
    expect((await xcom('sm_async_pipeline', r.runId, 'test_model')).Transform).toMatchObject({ TransformJobStatus: 'Completed' });

    // print_log (default on): the KNN container's lines are in the one try's log, each once, in order.
    const log = await new TaskLogRepository(rt.store).read(train._id, 1);
    const seqs = log.map((l) => l.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const job = jobLinesOf(log.map((l) => l.msg));
    expect(job.length).toBeGreaterThan(3);
    expect(new Set(job).size).toBe(job.length);
    expect(log.map((l) => l.msg)).toContain('train_model completed successfully.');
    // Progress while deferred (issue 12.6): the job's status changes, between the deferral and the resume.
    const msgs = log.map((l) => l.msg);
    const progress = msgs.filter((m) => m.startsWith('Training job dag-async-train: '));
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatch(/^Training job dag-async-train: Completed/);
    expect(msgs.findIndex((m) => /deferring until it ends/.test(m))).toBeLessThan(msgs.indexOf(progress[0]));
    expect(msgs.indexOf(progress.at(-1)!)).toBeLessThan(msgs.indexOf('train_model completed successfully.'));
  }, 90_000);
});

describe('failures', () => {
  it("a failed job fails the task with the job's FailureReason, retried per `retries` with a new job", async () => {
    h.aws.setFaults({ failJobs: ['/^dag-fails/'] });
    let r;
    try {
      r = await run('sm_fails', 'dag-fails');
    } finally {
      h.aws.setFaults({ failJobs: [] });
    }
    expect(r.state).toBe('failed');
    const t = await ti('sm_fails', r.runId, 'train_model');
    expect(t.state).toBe('failed');
    expect(t.try_number).toBe(2);
    expect(t.last_error).toMatch(/training job dag-fails-\d{10} failed because AlgorithmError: Training failed by local AWS fault injection/);
    // Try 1's failed job is not adopted by try 2: it submitted its own (timestamp suffix).
    const jobs = await trainingJobs('dag-fails');
    expect(jobs.map((j) => j.status)).toEqual(['Failed', 'Failed']);
    expect(jobs[0].name).toBe('dag-fails');
    const try1 = await new TaskLogRepository(rt.store).read(t._id, 1);
    expect(try1.map((l) => l.msg).join('\n')).toMatch(/training job dag-fails failed because AlgorithmError/);
    // Without print_log the try's log still shows the job's progress while deferred (issue 12.6).
    expect(try1.map((l) => l.msg)).toContainEqual(expect.stringMatching(/^Training job dag-fails: Failed/));
  }, 90_000);

  it("a ValidationException fails the task with AWS's message and submits nothing", async () => {
    const r = await run('sm_invalid', 'dag-invalid');
    expect(r.state).toBe('failed');
    const t = await ti('sm_invalid', r.runId, 'train_model');
    expect(t.try_number).toBe(2);
    expect(t.last_error).toMatch(/CreateTrainingJob dag-invalid failed: ValidationException: .*roleArn/i);
    expect(await trainingJobs('dag-invalid')).toEqual([]);
  }, 60_000);

  it('a worker killed between Create and defer: the zombie is reaped, try 2 adopts the job; exactly one job, task succeeds', async () => {
    // Long enough that the job still runs when try 2 (after the lease expired) adopts it.
    h.aws.setFaults({ jobDurationMs: 4000 });
    try {
      CrashOnceTraining.crashWorker = () => rt.worker!.simulateCrash();
      const r = await rt.triggerDag('sm_crash', { runId: 'run_dag-crash', conf: { name: 'dag-crash' } });
      await waitFor('the crash', async () => CrashOnceTraining.crashWorker === null);
      // The dead worker never writes again; another worker takes over the next try.
      extraWorker = new Worker({
        store: rt.store,
        dagBag: rt.dagBag,
        bus: rt.bus,
        logger,
        services: { awsClients: h.clients },
        slots: 2,
        pollIntervalMs: 50,
        logFlushMs: 50,
      });
      await extraWorker.start();
      const done = await rt.waitForRun('sm_crash', r.run_id, { timeoutMs: 60_000 });
      expect(done.state).toBe('success');
      const t = await ti('sm_crash', r.run_id, 'train_model');
      expect(t.try_number).toBe(2);
      expect(t.deferred_ms).toBeGreaterThan(0);
      expect(await trainingJobs('dag-crash')).toEqual([{ name: 'dag-crash', status: 'Completed' }]);
      const try2 = await new TaskLogRepository(rt.store).read(t._id, 2);
      expect(try2.map((l) => l.msg).join('\n')).toMatch(/submitted earlier by this task/);
      expect(((await xcom('sm_crash', r.run_id, 'train_model')).Training as { TrainingJobName: string }).TrainingJobName).toBe('dag-crash');
    } finally {
      CrashOnceTraining.crashWorker = null;
      h.aws.setFaults({ jobDurationMs: null });
    }
  }, 90_000);
});

describe('action_if_job_exists across DAG runs', () => {
  const jobName = async (dagId: string, runId: string): Promise<string> =>
    ((await xcom(dagId, runId, 'train_model')).Training as { TrainingJobName: string }).TrainingJobName;

  it('increment: a second run of the same logical job name trains <name>-1', async () => {
    const first = await run('sm_increment', 'dag-inc');
    expect(first.state).toBe('success');
    const second = await rt.triggerDag('sm_increment', { runId: 'run_dag-inc_again', conf: { name: 'dag-inc' } });
    expect((await rt.waitForRun('sm_increment', second.run_id, { timeoutMs: 60_000 })).state).toBe('success');
    expect(await jobName('sm_increment', first.runId)).toBe('dag-inc');
    expect(await jobName('sm_increment', second.run_id)).toBe('dag-inc-1');
    expect((await trainingJobs('dag-inc')).map((j) => j.name)).toEqual(['dag-inc', 'dag-inc-1']);
  }, 90_000);

  it('timestamp (default): -<epoch seconds>; fail: the run fails naming the job; skip: reuses it', async () => {
    expect((await run('sm_timestamp', 'dag-modes')).state).toBe('success');
    const again = await rt.triggerDag('sm_timestamp', { runId: 'run_dag-modes_ts', conf: { name: 'dag-modes' } });
    expect((await rt.waitForRun('sm_timestamp', again.run_id, { timeoutMs: 60_000 })).state).toBe('success');
    expect(await jobName('sm_timestamp', again.run_id)).toMatch(/^dag-modes-\d{10}$/);

    const failed = await rt.triggerDag('sm_fail_mode', { runId: 'run_dag-modes_fail', conf: { name: 'dag-modes' } });
    expect((await rt.waitForRun('sm_fail_mode', failed.run_id, { timeoutMs: 60_000 })).state).toBe('failed');
    expect((await ti('sm_fail_mode', failed.run_id, 'train_model')).last_error).toMatch(/A SageMaker job with name dag-modes already exists\./);

    const skipped = await rt.triggerDag('sm_skip_mode', { runId: 'run_dag-modes_skip', conf: { name: 'dag-modes' } });
    expect((await rt.waitForRun('sm_skip_mode', skipped.run_id, { timeoutMs: 60_000 })).state).toBe('success');
    expect(await jobName('sm_skip_mode', skipped.run_id)).toBe('dag-modes');
    expect((await trainingJobs('dag-modes')).length).toBe(2);
  }, 90_000);
});

describe('print_log while deferred', () => {
  it("the job's lines reach the task log while the task is deferred, and every line is there exactly once after", async () => {
    const r = await rt.triggerDag('sm_print_log', { runId: 'run_dag-log', conf: { name: 'dag-log' } });
    const id = taskInstanceId('sm_print_log', r.run_id, 'train_model');
    const logs = new TaskLogRepository(rt.store);
    const state = async (): Promise<string | null> => (await rt.store.taskInstances.findOne({ _id: id }))?.state ?? null;
    // The task is deferred before and after each read; the job's lines keep growing in between,
    // so something other than the worker (which copied at most what existed before deferring)
    // copies them: the trigger.
    const linesWhileDeferred = async (moreThan: number): Promise<string[] | null> => {
      if ((await state()) !== 'deferred') return null;
      const lines = jobLinesOf((await logs.read(id, 1)).map((l) => l.msg));
      return lines.length > moreThan && lines.length < SLOW_LINES && (await state()) === 'deferred' ? lines : null;
    };
    const first = await waitFor('job lines while deferred', () => linesWhileDeferred(0));
    const later = await waitFor('more job lines while still deferred', () => linesWhileDeferred(first.length));
    expect(later.slice(0, first.length)).toEqual(first);
    expect(first[0]).toMatch(/^epoch 1 of/);

    expect((await rt.waitForRun('sm_print_log', r.run_id, { timeoutMs: 60_000 })).state).toBe('success');
    // The worker closes a try's log after recording its outcome: its last lines (and the job lines
    // it copied after the resume) may land a moment after the run is seen successful.
    await waitFor("the try's last log line", async () => (await logs.read(id, 1)).some((l) => l.msg === 'Marking task as SUCCESS'));
    const t = await ti('sm_print_log', r.run_id, 'train_model');
    expect(t.try_number).toBe(1);
    const log = await logs.read(id, 1);
    const epochs = jobLinesOf(log.map((l) => l.msg));
    expect(epochs).toEqual(Array.from({ length: SLOW_LINES }, (_, i) => `epoch ${i + 1} of ${SLOW_LINES} loss=${(1 / (i + 1)).toFixed(4)}`));
    // One try, one ordered log across worker → triggerer → worker: unique, increasing seqs, and
    // the worker's "deferring" line before the copied lines before its "completed" line.
    const seqs = log.map((l) => l.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const msgs = log.map((l) => l.msg);
    const deferring = msgs.findIndex((m) => /deferring until it ends/.test(m));
    const firstEpoch = msgs.indexOf(epochs[0]);
    const completed = msgs.indexOf('train_model completed successfully.');
    expect(deferring).toBeGreaterThanOrEqual(0);
    expect(deferring).toBeLessThan(firstEpoch);
    expect(firstEpoch).toBeLessThan(completed);
  }, 90_000);
});
