import { ListTrainingJobsCommand, ListTransformJobsCommand } from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SageMakerTrainingOperator } from '../../../../src/providers/aws/operators/sagemaker-training-operator.ts';
import { SageMakerTrainingOperatorAsync } from '../../../../src/providers/aws/operators/sagemaker-training-operator-async.ts';
import { SageMakerModelOperator } from '../../../../src/providers/aws/operators/sagemaker-model-operator.ts';
import { SageMakerTransformOperator } from '../../../../src/providers/aws/operators/sagemaker-transform-operator.ts';
import { SageMakerTransformOperatorAsync } from '../../../../src/providers/aws/operators/sagemaker-transform-operator-async.ts';
import { JOB_NAME_XCOM_KEY } from '../../../../src/providers/aws/operators/sagemaker-job-operator.ts';
import { LogTailer } from '../../../../src/providers/aws/sagemaker/log-tailer.ts';
import { TRAINING_JOB } from '../../../../src/providers/aws/sagemaker/resources.ts';
import { renderTemplateFields } from '../../../../src/templating/index.ts';
import { maskSecrets } from '../../../../src/connections/secret-masker.ts';
import {
  CONN_ID,
  KNN_IMAGE,
  ROLE,
  BUCKET,
  executeExpectingDeferral,
  makeTry,
  recordEvents,
  startHarness,
  trainingConfig,
  tryCopy,
  uploadIris,
  type Harness,
} from './harness.ts';

let h: Harness;
let data: { train: string; test: string };

beforeAll(async () => {
  h = await startHarness('sm_train');
  data = await uploadIris(h, 'iris');
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const fast = { aws_conn_id: CONN_ID, check_interval: 0.02 };

async function trainingJobsNamed(fragment: string): Promise<string[]> {
  const out = await h.clients.sagemaker(CONN_ID).send(new ListTrainingJobsCommand({ NameContains: fragment, MaxResults: 100 }));
  return (out.TrainingJobSummaries ?? []).map((j) => j.TrainingJobName!).sort();
}

describe('SageMakerTrainingOperator (sync)', () => {
  it('trains KNN on Iris, copies the job log into the task log once, returns {Training: describe}', async () => {
    const op = new SageMakerTrainingOperator({ taskId: 'train_model', config: trainingConfig('knn-sync-1', data.train), ...fast });
    const t = await makeTry(h, op);
    const result = (await tryCopy(op).execute(t.ctx)) as { Training: Record<string, unknown> };
    const training = result.Training;
    expect(training.TrainingJobName).toBe('knn-sync-1');
    expect(training.TrainingJobStatus).toBe('Completed');
    expect(training.$metadata).toBeUndefined();
    expect(typeof training.CreationTime).toBe('string');
    expect(training.HyperParameters).toMatchObject({ k: '3', feature_dim: '4' });
    expect((training.ResourceConfig as Record<string, unknown>).InstanceCount).toBe(1);
    expect(String((training.ModelArtifacts as Record<string, unknown>).S3ModelArtifacts)).toMatch(
      /^s3:\/\/deferflow-test\/results\/knn-sync-1\/output\/model\.tar\.gz$/,
    );
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    // print_log: the container's lines are in the task log, each exactly once.
    const jobLines = t.lines.filter((l) => !/^(Creating|Training job|knn-sync-1|train_model|Billable)/.test(l) && !/^SageMaker|completed successfully/.test(l));
    expect(jobLines.length).toBeGreaterThan(0);
    expect(new Set(jobLines).size).toBe(jobLines.length);
    expect(t.lines).toContain('train_model completed successfully.');
    // The name was recorded before Create.
    expect(t.ctx.ti.xcom_pull('train_model', JOB_NAME_XCOM_KEY)).toBe('knn-sync-1');
  }, 60_000);

  it('seed XCom path: the rendered ModelDataUrl template reads the training result', async () => {
    const op = new SageMakerTrainingOperator({ taskId: 'train_model', config: trainingConfig('knn-xcom-seed', data.train), ...fast, print_log: false });
    const t = await makeTry(h, op);
    const result = (await tryCopy(op).execute(t.ctx)) as { Training: { ModelArtifacts: { S3ModelArtifacts: string } } };
    const rendered = renderTemplateFields(
      "{{ ti.xcom_pull(task_ids='train_model')['Training']['ModelArtifacts']['S3ModelArtifacts'] }}",
      { ti: { xcom_pull: (a: unknown) => (typeof a === 'object' && a && (a as { task_ids?: string }).task_ids === 'train_model' ? result : undefined) } },
      { taskId: 'create_model', fieldPath: 'config' },
    );
    expect(rendered).toBe(result.Training.ModelArtifacts.S3ModelArtifacts);
  }, 60_000);

  it('fails with the FailureReason when the job fails (failJobs)', async () => {
    h.aws.setFaults({ failJobs: ['knn-will-fail'] });
    try {
      const op = new SageMakerTrainingOperator({ taskId: 't', config: trainingConfig('knn-will-fail', data.train), ...fast });
      const t = await makeTry(h, op);
      await expect(tryCopy(op).execute(t.ctx)).rejects.toMatchObject({
        code: 'SAGEMAKER_JOB_FAILED',
        message: expect.stringMatching(/training job knn-will-fail failed because AlgorithmError: Training failed by local AWS fault injection/),
      });
    } finally {
      h.aws.setFaults({ failJobs: [] });
    }
  }, 60_000);

  it("fails with AWS's ValidationException message and creates nothing", async () => {
    const op = new SageMakerTrainingOperator({ taskId: 't', config: trainingConfig('knn-invalid', data.train, { RoleArn: 'not-an-arn' }), ...fast });
    const t = await makeTry(h, op);
    const err = (await tryCopy(op)
      .execute(t.ctx)
      .catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('AWS_ERROR');
    expect(err.message).toMatch(/CreateTrainingJob knn-invalid failed: ValidationException: .*roleArn/i);
    expect(await trainingJobsNamed('knn-invalid')).toEqual([]);
  }, 30_000);

  it('max_ingestion_time fails the task but leaves the job running', async () => {
    h.aws.setFaults({ simulateJobs: ['knn-slow'], jobDurationMs: 3000 });
    try {
      const op = new SageMakerTrainingOperator({
        taskId: 't',
        config: trainingConfig('knn-slow', data.train),
        ...fast,
        max_ingestion_time: 0.2,
        print_log: false,
      });
      const t = await makeTry(h, op);
      await expect(tryCopy(op).execute(t.ctx)).rejects.toThrow(/took more than 0.2 seconds .*still InProgress and was not stopped/);
      const d = await TRAINING_JOB.describe(h.clients.sagemaker(CONN_ID), 'knn-slow');
      expect(d.TrainingJobStatus).toBe('InProgress');
    } finally {
      h.aws.setFaults({ simulateJobs: false, jobDurationMs: null });
    }
  }, 30_000);

  it('stops waiting when the task is aborted', async () => {
    h.aws.setFaults({ simulateJobs: ['knn-abort'], jobDurationMs: 3000 });
    try {
      const op = new SageMakerTrainingOperator({ taskId: 't', config: trainingConfig('knn-abort', data.train), ...fast, print_log: false });
      const t = await makeTry(h, op);
      const p = tryCopy(op).execute(t.ctx);
      setTimeout(() => t.abort.abort(new Error('execution_timeout')), 150);
      await expect(p).rejects.toThrow(/execution_timeout/);
    } finally {
      h.aws.setFaults({ simulateJobs: false, jobDurationMs: null });
    }
  }, 30_000);
});

describe('throttling', () => {
  it('throttled SageMaker calls are retried, never a failure by themselves', async () => {
    h.aws.setFaults({ throttleRate: 0.4, seed: 7 });
    try {
      const op = new SageMakerTrainingOperator({ taskId: 't', config: trainingConfig('knn-throttled', data.train), ...fast, print_log: false });
      const r = (await tryCopy(op).execute((await makeTry(h, op)).ctx)) as { Training: Record<string, unknown> };
      expect(r.Training.TrainingJobStatus).toBe('Completed');
    } finally {
      h.aws.setFaults({ throttleRate: 0 });
    }
    expect(await trainingJobsNamed('knn-throttled')).toEqual(['knn-throttled']);
  }, 60_000);
});

describe('action_if_job_exists', () => {
  async function runTraining(taskId: string, name: string, extra: Record<string, unknown>, runId?: string): Promise<string> {
    const op = new SageMakerTrainingOperator({ taskId, config: trainingConfig(name, data.train), ...fast, print_log: false, ...extra });
    const t = await makeTry(h, op, { runId });
    const r = (await tryCopy(op).execute(t.ctx)) as { Training: { TrainingJobName: string } };
    return r.Training.TrainingJobName;
  }

  it("timestamp (default): another run's job of the same name gets a -<epoch> suffix", async () => {
    expect(await runTraining('a', 'knn-dup-ts', {})).toBe('knn-dup-ts');
    const second = await runTraining('a', 'knn-dup-ts', {});
    expect(second).toMatch(/^knn-dup-ts-\d{10}$/);
  }, 60_000);

  it('timestamp keeps long names within 63 characters', async () => {
    const long = `knn-${'x'.repeat(59)}`;
    expect(long.length).toBe(63);
    await runTraining('a', long, {});
    const second = await runTraining('a', long, {});
    expect(second.length).toBe(63);
    expect(second).toMatch(/^knn-x+-\d{10}$/);
  }, 60_000);

  it('increment: next free -N from one List call', async () => {
    expect(await runTraining('a', 'knn-inc', { action_if_job_exists: 'increment' })).toBe('knn-inc');
    expect(await runTraining('a', 'knn-inc', { action_if_job_exists: 'increment' })).toBe('knn-inc-1');
    expect(await runTraining('a', 'knn-inc', { action_if_job_exists: 'increment' })).toBe('knn-inc-2');
    expect(await trainingJobsNamed('knn-inc')).toEqual(['knn-inc', 'knn-inc-1', 'knn-inc-2']);
  }, 90_000);

  it('fail: names the existing job; skip: returns the existing job without a new one', async () => {
    await runTraining('a', 'knn-fail-skip', {});
    const op = new SageMakerTrainingOperator({ taskId: 'other', config: trainingConfig('knn-fail-skip', data.train), ...fast, action_if_job_exists: 'fail' });
    const t = await makeTry(h, op);
    await expect(tryCopy(op).execute(t.ctx)).rejects.toThrow('A SageMaker job with name knn-fail-skip already exists.');
    expect(await runTraining('other', 'knn-fail-skip', { action_if_job_exists: 'skip' })).toBe('knn-fail-skip');
    expect(await trainingJobsNamed('knn-fail-skip')).toEqual(['knn-fail-skip']);
  }, 60_000);

  it('rejects an unknown action at definition time', () => {
    expect(() => new SageMakerTrainingOperator({ taskId: 'x', config: {}, action_if_job_exists: 'rename' as never })).toThrow(
      /accepts only 'fail', 'increment', 'skip', 'timestamp'/,
    );
  });
});

describe('SageMakerTrainingOperatorAsync (deferrable)', () => {
  it('defers with the trigger, resumes on the real event, prints remaining log lines once', async () => {
    h.aws.setFaults({ jobDurationMs: 600 });
    const rec = recordEvents(h.aws);
    try {
      const op = new SageMakerTrainingOperatorAsync({ taskId: 'train_model', config: trainingConfig('knn-async-1', data.train), aws_conn_id: CONN_ID });
      const t1 = await makeTry(h, op);
      const deferred = await executeExpectingDeferral(tryCopy(op), t1.ctx);
      expect(deferred.request.method).toBe('execute_complete');
      expect(deferred.request.trigger).toMatchObject({ kwargs: { job_type: 'training', job_name: 'knn-async-1', aws_conn_id: CONN_ID, region_name: null } });
      expect(deferred.request.kwargs).toMatchObject({ job_name: 'knn-async-1' });
      const payload = await rec.payloadFor(deferred);
      expect(payload).toMatchObject({ status: 'success', job_name: 'knn-async-1' });
      // Resume on "another worker": a fresh copy and context, kwargs as stored in next_kwargs (JSON).
      const kwargs = JSON.parse(JSON.stringify({ ...deferred.request.kwargs, event: payload })) as Record<string, unknown>;
      const t2 = await makeTry(h, op, { runId: t1.ctx.run_id });
      const result = (await tryCopy(op).execute_complete(t2.ctx, kwargs)) as { Training: Record<string, unknown> };
      expect(result.Training).toMatchObject({ TrainingJobName: 'knn-async-1', TrainingJobStatus: 'Completed' });
      // Resumed with an empty cursor (nothing printed before deferring): the whole log is copied.
      const jobLines = t2.lines.filter((l) => l.startsWith('[') || l.startsWith('#'));
      expect(jobLines.length).toBeGreaterThan(3);
      expect(new Set(jobLines).size).toBe(jobLines.length);
      // Resumed with the cursor of a copy that already printed everything: nothing is printed twice.
      const first = new LogTailer(h.clients.logs(CONN_ID), '/aws/sagemaker/TrainingJobs', 'knn-async-1', t1.ctx.log);
      expect(await first.poll()).toBe(jobLines.length);
      const t3 = await makeTry(h, op, { runId: t1.ctx.run_id });
      await tryCopy(op).execute_complete(t3.ctx, { ...kwargs, log_cursor: first.position });
      expect(t3.lines.filter((l) => l.startsWith('[') || l.startsWith('#'))).toEqual([]);
    } finally {
      rec.stop();
      h.aws.setFaults({ jobDurationMs: null });
    }
  }, 60_000);

  it('returns without deferring when the job is already complete at the first Describe', async () => {
    // A job this task submitted earlier and that finished: adopting it must not defer.
    const sync = new SageMakerTrainingOperator({ taskId: 'train_done', config: trainingConfig('knn-async-done', data.train), ...fast, print_log: false });
    const t = await makeTry(h, sync);
    await tryCopy(sync).execute(t.ctx);
    const op = new SageMakerTrainingOperatorAsync({
      taskId: 'train_done',
      config: trainingConfig('knn-async-done', data.train),
      aws_conn_id: CONN_ID,
      print_log: false,
    });
    const again = await makeTry(h, op, { runId: t.ctx.run_id, tryNumber: 2, clearXComs: true });
    const result = (await tryCopy(op).execute(again.ctx)) as { Training: Record<string, unknown> };
    expect(result.Training.TrainingJobStatus).toBe('Completed');
    expect(await trainingJobsNamed('knn-async-done')).toEqual(['knn-async-done']);
  }, 60_000);

  it('a failed job fails the resumed task with its FailureReason', async () => {
    h.aws.setFaults({ failJobs: ['knn-async-fail'], jobDurationMs: 300 });
    const rec = recordEvents(h.aws);
    try {
      const op = new SageMakerTrainingOperatorAsync({
        taskId: 't',
        config: trainingConfig('knn-async-fail', data.train),
        aws_conn_id: CONN_ID,
        print_log: false,
      });
      const t = await makeTry(h, op);
      const deferred = await executeExpectingDeferral(tryCopy(op), t.ctx);
      const payload = await rec.payloadFor(deferred);
      expect(payload).toMatchObject({ status: 'failed' });
      await expect(tryCopy(op).execute_complete(t.ctx, { ...deferred.request.kwargs, event: payload })).rejects.toMatchObject({
        code: 'SAGEMAKER_JOB_FAILED',
        message: expect.stringContaining('failed because AlgorithmError: Training failed by local AWS fault injection'),
      });
    } finally {
      rec.stop();
      h.aws.setFaults({ failJobs: [], jobDurationMs: null });
    }
  }, 60_000);

  it('a worker killed between Create and defer: the next try continues with the same job (exactly one exists)', async () => {
    h.aws.setFaults({ jobDurationMs: 800 });
    try {
      const op = new SageMakerTrainingOperatorAsync({
        taskId: 'train_crash',
        config: trainingConfig('knn-crash', data.train),
        aws_conn_id: CONN_ID,
        print_log: false,
      });
      const t1 = await makeTry(h, op);
      // The worker dies right after CreateTrainingJob: its defer never happens.
      const dying = tryCopy(op);
      Object.defineProperty(dying, 'defer', {
        value: () => {
          throw new Error('worker killed');
        },
      });
      await expect(dying.execute(t1.ctx)).rejects.toThrow('worker killed');
      // The scheduler reaps the zombie; try 2 starts on another worker (its XComs cleared, as the worker does).
      const t2 = await makeTry(h, op, { runId: t1.ctx.run_id, tryNumber: 2, clearXComs: true });
      const deferred = await executeExpectingDeferral(tryCopy(op), t2.ctx);
      expect(deferred.request.kwargs).toMatchObject({ job_name: 'knn-crash' });
      expect(t2.lines.some((l) => /submitted earlier by this task/.test(l))).toBe(true);
      expect(await trainingJobsNamed('knn-crash')).toEqual(['knn-crash']);
    } finally {
      h.aws.setFaults({ jobDurationMs: null });
    }
  }, 60_000);

  it('crash with a timestamp-suffixed name: the retry adopts the suffixed job, not a third one', async () => {
    h.aws.setFaults({ jobDurationMs: 800 });
    try {
      await new SageMakerTrainingOperator({ taskId: 'someone_else', config: trainingConfig('knn-crash-ts', data.train), ...fast, print_log: false }).execute(
        (await makeTry(h, new SageMakerTrainingOperator({ taskId: 'someone_else', config: {} }))).ctx,
      );
      const op = new SageMakerTrainingOperatorAsync({
        taskId: 'train_crash_ts',
        config: trainingConfig('knn-crash-ts', data.train),
        aws_conn_id: CONN_ID,
        print_log: false,
      });
      const t1 = await makeTry(h, op);
      const dying = tryCopy(op);
      Object.defineProperty(dying, 'defer', {
        value: () => {
          throw new Error('worker killed');
        },
      });
      await expect(dying.execute(t1.ctx)).rejects.toThrow('worker killed');
      const t2 = await makeTry(h, op, { runId: t1.ctx.run_id, tryNumber: 2, clearXComs: true });
      const deferred = await executeExpectingDeferral(tryCopy(op), t2.ctx);
      const name = String(deferred.request.kwargs?.job_name);
      expect(name).toMatch(/^knn-crash-ts-\d{10}$/);
      expect((await trainingJobsNamed('knn-crash-ts')).length).toBe(2);
    } finally {
      h.aws.setFaults({ jobDurationMs: null });
    }
  }, 60_000);
});

describe('SageMakerModelOperator + SageMakerTransformOperator', () => {
  let artifact = '';
  beforeAll(async () => {
    const op = new SageMakerTrainingOperator({ taskId: 'train_model', config: trainingConfig('knn-for-transform', data.train), ...fast, print_log: false });
    const r = (await op.execute((await makeTry(h, op)).ctx)) as { Training: { ModelArtifacts: { S3ModelArtifacts: string } } };
    artifact = r.Training.ModelArtifacts.S3ModelArtifacts;
  }, 60_000);

  const modelConfig = (name: string) => ({
    ModelName: name,
    ExecutionRoleArn: ROLE,
    PrimaryContainer: { Mode: 'SingleModel', Image: KNN_IMAGE, ModelDataUrl: artifact },
  });
  const transformConfig = (name: string, model: string) => ({
    TransformJobName: name,
    ModelName: model,
    TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: data.test } }, ContentType: 'text/csv', SplitType: 'Line' },
    TransformOutput: { S3OutputPath: `s3://${BUCKET}/predictions/${name}/`, Accept: 'text/csv', AssembleWith: 'Line' },
    TransformResources: { InstanceCount: '1', InstanceType: 'ml.m5.large' },
    MaxPayloadInMB: '6',
  });

  it('creates the model (reused on retry) and returns {Model: describe}', async () => {
    const op = new SageMakerModelOperator({ taskId: 'create_model', config: modelConfig('knn-model-1'), aws_conn_id: CONN_ID });
    const t = await makeTry(h, op);
    const r = (await tryCopy(op).execute(t.ctx)) as { Model: Record<string, unknown> };
    expect(r.Model).toMatchObject({ ModelName: 'knn-model-1', PrimaryContainer: { ModelDataUrl: artifact } });
    // Retry of the same task instance: no "already exists" failure, same model.
    const again = await makeTry(h, op, { runId: t.ctx.run_id, tryNumber: 2 });
    expect(((await tryCopy(op).execute(again.ctx)) as { Model: { ModelName: string } }).Model.ModelName).toBe('knn-model-1');
    // Another task using the name: AWS's error, as in Airflow.
    const other = new SageMakerModelOperator({ taskId: 'other_model', config: modelConfig('knn-model-1'), aws_conn_id: CONN_ID });
    await expect(tryCopy(other).execute((await makeTry(h, other)).ctx)).rejects.toMatchObject({ code: 'AWS_ERROR' });
  }, 30_000);

  it('transform (sync) with {Model, Transform} returns {Model, Transform} and writes predictions', async () => {
    const op = new SageMakerTransformOperator({
      taskId: 'test_model',
      config: { Model: modelConfig('knn-model-2'), Transform: transformConfig('knn-transform-sync', 'knn-model-2') },
      ...fast,
    });
    const t = await makeTry(h, op);
    const r = (await tryCopy(op).execute(t.ctx)) as { Model: Record<string, unknown>; Transform: Record<string, unknown> };
    expect(r.Model.ModelName).toBe('knn-model-2');
    expect(r.Transform).toMatchObject({ TransformJobName: 'knn-transform-sync', TransformJobStatus: 'Completed', MaxPayloadInMB: 6 });
    const keys = await h.s3.listKeys(BUCKET, 'predictions/knn-transform-sync/');
    expect(keys).toEqual(['predictions/knn-transform-sync/test.csv.out']);
    const predictions = (await h.s3.readKey(keys[0], BUCKET)).trim().split('\n');
    expect(predictions).toHaveLength(30);
  }, 60_000);

  it('transform (async) defers and resumes to the same result shape', async () => {
    h.aws.setFaults({ jobDurationMs: 400 });
    const rec = recordEvents(h.aws);
    try {
      const model = new SageMakerModelOperator({ taskId: 'create_model', config: modelConfig('knn-model-3'), aws_conn_id: CONN_ID });
      await tryCopy(model).execute((await makeTry(h, model)).ctx);
      const op = new SageMakerTransformOperatorAsync({
        taskId: 'test_model',
        config: transformConfig('knn-transform-async', 'knn-model-3'),
        aws_conn_id: CONN_ID,
      });
      const t = await makeTry(h, op);
      const deferred = await executeExpectingDeferral(tryCopy(op), t.ctx);
      expect(deferred.request.trigger).toMatchObject({ kwargs: { job_type: 'transform', job_name: 'knn-transform-async' } });
      const payload = await rec.payloadFor(deferred);
      const r = (await tryCopy(op).execute_complete(t.ctx, { ...deferred.request.kwargs, event: payload })) as {
        Model: Record<string, unknown>;
        Transform: Record<string, unknown>;
      };
      expect(r.Model.ModelName).toBe('knn-model-3');
      expect(r.Transform.TransformJobStatus).toBe('Completed');
      const jobs = await h.clients.sagemaker(CONN_ID).send(new ListTransformJobsCommand({ NameContains: 'knn-transform-async' }));
      expect(jobs.TransformJobSummaries).toHaveLength(1);
    } finally {
      rec.stop();
      h.aws.setFaults({ jobDurationMs: null });
    }
  }, 60_000);
});

describe('secrets never reach the task log', () => {
  it('the connection secret read by the factory is masked', () => {
    expect(maskSecrets('secret is local-secret-access-key')).toBe('secret is ***');
  });
});
