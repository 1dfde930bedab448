import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  StopTrainingJobCommand,
} from '@aws-sdk/client-sagemaker';
import { FilterLogEventsCommand, GetLogEventsCommand, DescribeLogStreamsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { KNN_IMAGE, ROLE, startTestAws, waitFor, type TestAws } from './helpers.ts';

const SCRIPT_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-trainer:latest';
let t: TestAws;

function trainReq(name: string, image: string, hps: Record<string, string>, extra: { MaxRuntimeInSeconds?: number } = {}) {
  return new CreateTrainingJobCommand({
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingImage: image, TrainingInputMode: 'File', MetricDefinitions: [{ Name: 'train:loss', Regex: 'loss=([0-9.]+)' }] },
    RoleArn: ROLE,
    HyperParameters: hps,
    InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://scripts/data/' } } }],
    OutputDataConfig: { S3OutputPath: 's3://scripts/out' },
    ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 5 },
    StoppingCondition: { MaxRuntimeInSeconds: extra.MaxRuntimeInSeconds ?? 600 },
  });
}

const finished = (name: string, timeout = 30_000) =>
  waitFor(async () => {
    const d = await t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    return ['Completed', 'Failed', 'Stopped'].includes(d.TrainingJobStatus!) ? d : undefined;
  }, timeout);

beforeAll(async () => {
  t = await startTestAws({
    scriptImages: {
      [SCRIPT_IMAGE]: { command: [process.execPath, fileURLToPath(new URL('./fixtures/train-script.mjs', import.meta.url))] },
      '/^local\\/processor(:.*)?$/': { command: [process.execPath], env: { EXTRA: '1' } },
    },
  });
  await t.s3.send(new CreateBucketCommand({ Bucket: 'scripts' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'scripts', Key: 'data/part-1.csv', Body: 'a,1\nb,2\n' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'scripts', Key: 'data/part-2.csv', Body: 'c,3\n' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'scripts', Key: 'raw/x.txt', Body: 'hello\nworld\n' }));
  await t.s3.send(
    new PutObjectCommand({
      Bucket: 'scripts',
      Key: 'code/process.mjs',
      Body: await import('node:fs').then((fs) => fs.readFileSync(new URL('./fixtures/process-script.mjs', import.meta.url))),
    }),
  );
});
afterAll(() => t.close());

describe('script mode (SageMaker container contract)', () => {
  it('runs the mapped command with channels + hyperparameters, uploads model.tar.gz, streams logs', async () => {
    await t.sm.send(trainReq('script-ok', SCRIPT_IMAGE, { lr: '0.1', mode: 'ok' }));
    const d = await finished('script-ok');
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.ModelArtifacts?.S3ModelArtifacts).toBe('s3://scripts/out/script-ok/output/model.tar.gz');
    expect(d.FinalMetricDataList).toEqual([expect.objectContaining({ MetricName: 'train:loss', Value: 0.25 })]);
    const tarGz = await t.s3.send(new GetObjectCommand({ Bucket: 'scripts', Key: 'out/script-ok/output/model.tar.gz' }));
    const tarText = gunzipSync(Buffer.from(await tarGz.Body!.transformToByteArray())).toString('latin1');
    expect(tarText).toContain('model.json');
    expect(tarText).toContain('{"rows":3,"lr":0.1}');
    await t.s3.send(new GetObjectCommand({ Bucket: 'scripts', Key: 'out/script-ok/output/output.tar.gz' }));

    const streams = await t.logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: 'script-ok/' }));
    const stream = streams.logStreams![0].logStreamName!;
    const ev = await t.logs.send(new GetLogEventsCommand({ logGroupName: '/aws/sagemaker/TrainingJobs', logStreamName: stream, startFromHead: true }));
    const lines = ev.events!.map((e) => e.message);
    expect(lines).toContain('channels=["train"] files=part-1.csv,part-2.csv rows=3');
    expect(lines).toContain('args=--lr 0.1 --mode ok');
    expect(lines).toContain('training_env_job=script-ok');
    expect(lines).toContain('done (stderr line)');
    // tail semantics: at the end of the stream the same forward token comes back
    const again = await t.logs.send(
      new GetLogEventsCommand({ logGroupName: '/aws/sagemaker/TrainingJobs', logStreamName: stream, nextToken: ev.nextForwardToken }),
    );
    expect(again.events).toEqual([]);
    expect(again.nextForwardToken).toBe(ev.nextForwardToken);
    const filtered = await t.logs.send(
      new FilterLogEventsCommand({ logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: 'script-ok', filterPattern: 'loss' }),
    );
    expect(filtered.events?.map((e) => e.message)).toEqual(['epoch=1 loss=0.5', 'epoch=2 loss=0.25']);
  }, 40_000);

  it("a failing script's output/failure file becomes FailureReason", async () => {
    await t.sm.send(trainReq('script-fail', SCRIPT_IMAGE, { mode: 'fail' }));
    const d = await finished('script-fail');
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.SecondaryStatus).toBe('Failed');
    expect(d.FailureReason).toBe('AlgorithmError: the script gave up on purpose (mode=fail)');
  }, 40_000);

  it('StopTrainingJob kills the process and ends Stopped; MaxRuntimeInSeconds ends MaxRuntimeExceeded', async () => {
    await t.sm.send(trainReq('script-stop', SCRIPT_IMAGE, { mode: 'sleep' }));
    await waitFor(async () => (await t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'script-stop' }))).SecondaryStatus === 'Training');
    await new Promise((r) => setTimeout(r, 300));
    await t.sm.send(new StopTrainingJobCommand({ TrainingJobName: 'script-stop' }));
    expect((await t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'script-stop' }))).TrainingJobStatus).toBe('Stopping');
    const d = await finished('script-stop');
    expect(d.TrainingJobStatus).toBe('Stopped');
    expect(d.SecondaryStatusTransitions?.map((s) => s.Status).slice(-2)).toEqual(['Stopping', 'Stopped']);
    await expect(t.sm.send(new StopTrainingJobCommand({ TrainingJobName: 'script-stop' }))).rejects.toMatchObject({ name: 'ValidationException' });

    await t.sm.send(trainReq('script-maxrt', SCRIPT_IMAGE, { mode: 'sleep' }, { MaxRuntimeInSeconds: 1 }));
    const m = await finished('script-maxrt');
    expect(m.TrainingJobStatus).toBe('Stopped');
    expect(m.SecondaryStatus).toBe('MaxRuntimeExceeded');
  }, 40_000);

  it('KNN with a missing/invalid hyperparameter fails with a ClientError reason', async () => {
    await t.sm.send(trainReq('knn-bad-hp', KNN_IMAGE, { k: '3', feature_dim: '1', predictor_type: 'classifier' }));
    const d = await finished('knn-bad-hp');
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.FailureReason).toMatch(/^ClientError: .*'sample_size' is a required property/s);
    await t.sm.send(trainReq('knn-bad-type', KNN_IMAGE, { k: 'three', feature_dim: '1', predictor_type: 'classifier', sample_size: '10' }));
    expect((await finished('knn-bad-type')).FailureReason).toMatch(/^ClientError: .*'k' must be a positive integer/s);
  }, 40_000);

  it('an image that is neither mapped nor built-in fails clearly; an empty input prefix is rejected at creation (as SageMaker does)', async () => {
    await t.sm.send(trainReq('unknown-image', '999999999999.dkr.ecr.us-east-1.amazonaws.com/mystery:1', {}));
    expect((await finished('unknown-image')).FailureReason).toMatch(/^ClientError: Local AWS cannot run training image/);
    const req = trainReq('no-data', SCRIPT_IMAGE, {});
    req.input.InputDataConfig![0].DataSource!.S3DataSource!.S3Uri = 's3://scripts/missing-prefix/';
    await expect(t.sm.send(req)).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(
        /^No S3 objects found under S3 URL "s3:\/\/scripts\/missing-prefix\/" given in input data source\. Please ensure that the bucket exists in the selected region \(us-east-1\)/,
      ),
    });
    await expect(t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'no-data' }))).rejects.toMatchObject({ name: 'ValidationException' });
  }, 40_000);

  it('processing job: inputs mapped to local dirs, outputs uploaded after exit, ExitMessage', async () => {
    await t.sm.send(
      new CreateProcessingJobCommand({
        ProcessingJobName: 'proc-1',
        RoleArn: ROLE,
        AppSpecification: {
          ImageUri: 'local/processor:1',
          ContainerEntrypoint: [process.execPath, '/opt/ml/processing/input/code/process.mjs'],
          ContainerArguments: ['/opt/ml/processing/input/raw', '/opt/ml/processing/output/clean'],
        },
        ProcessingInputs: [
          { InputName: 'raw', S3Input: { S3Uri: 's3://scripts/raw/', LocalPath: '/opt/ml/processing/input/raw', S3DataType: 'S3Prefix', S3InputMode: 'File' } },
          {
            InputName: 'code',
            S3Input: { S3Uri: 's3://scripts/code/process.mjs', LocalPath: '/opt/ml/processing/input/code', S3DataType: 'S3Prefix', S3InputMode: 'File' },
          },
        ],
        ProcessingOutputConfig: {
          Outputs: [{ OutputName: 'clean', S3Output: { S3Uri: 's3://scripts/clean', LocalPath: '/opt/ml/processing/output/clean', S3UploadMode: 'EndOfJob' } }],
        },
        ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 5 } },
      }),
    );
    const d = await waitFor(async () => {
      const x = await t.sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'proc-1' }));
      return x.ProcessingJobStatus !== 'InProgress' ? x : undefined;
    }, 30_000);
    expect(d.FailureReason).toBeUndefined();
    expect(d.ProcessingJobStatus).toBe('Completed');
    expect(d.ExitMessage).toBe('processed 2 lines');
    const out = await t.s3.send(new GetObjectCommand({ Bucket: 'scripts', Key: 'clean/x.txt.upper' }));
    expect(await out.Body!.transformToString()).toBe('HELLO\nWORLD');
    const logs = await t.logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/sagemaker/ProcessingJobs', logStreamNamePrefix: 'proc-1/' }));
    expect(logs.events?.map((e) => e.message)).toContain('processed 2 lines');
  }, 40_000);
});
