import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateTrainingJobCommand,
  CreateTransformJobCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { EventBridgeEvent } from '../../src/local-aws/index.ts';
import { irisSplit, KNN_IMAGE, ROLE, startTestAws, toCsv, waitFor, type TestAws } from './helpers.ts';

let t: TestAws;
let queueUrl: string;
const { train, test } = irisSplit();
const seenOnStream: EventBridgeEvent[] = [];

function trainingRequest(name: string, hps: Record<string, string>) {
  return new CreateTrainingJobCommand({
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
    RoleArn: ROLE,
    HyperParameters: hps,
    InputDataConfig: [
      { ChannelName: 'train', ContentType: 'text/csv', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://mlb/iris/train/' } } },
      { ChannelName: 'test', ContentType: 'text/csv', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://mlb/iris/test-labelled/' } } },
    ],
    OutputDataConfig: { S3OutputPath: 's3://mlb/output/' },
    ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 5 },
    StoppingCondition: { MaxRuntimeInSeconds: 3600 },
  });
}

async function drainEvents(): Promise<EventBridgeEvent[]> {
  const out: EventBridgeEvent[] = [];
  for (;;) {
    const r = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    if (!r.Messages?.length) return out;
    for (const m of r.Messages) {
      out.push(JSON.parse(m.Body!) as EventBridgeEvent);
      await t.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

beforeAll(async () => {
  t = await startTestAws();
  t.aws.events$.subscribe((e) => seenOnStream.push(e));
  await t.s3.send(new CreateBucketCommand({ Bucket: 'mlb' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'mlb', Key: 'iris/train/train.csv', Body: toCsv(train), ContentType: 'text/csv' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'mlb', Key: 'iris/test-labelled/test.csv', Body: toCsv(test) }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'mlb', Key: 'iris/batch/test.csv', Body: toCsv(test.map((r) => r.slice(1))) }));
  queueUrl = (await t.sqs.send(new CreateQueueCommand({ QueueName: 'sm-events' }))).QueueUrl!;
  const queueArn = (await t.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await t.eb.send(
    new PutRuleCommand({ Name: 'sm-jobs', EventPattern: JSON.stringify({ source: ['aws.sagemaker'], 'detail-type': [{ suffix: 'State Change' }] }) }),
  );
  await t.eb.send(new PutTargetsCommand({ Rule: 'sm-jobs', Targets: [{ Id: 'q', Arn: queueArn }] }));
});
afterAll(() => t.close());

describe('SageMaker built-in KNN on Iris, end to end over the SDK', () => {
  it('trains, publishes state-change events through a rule to SQS, and writes logs', async () => {
    await t.sm.send(trainingRequest('iris-knn', { k: '5', feature_dim: '4', predictor_type: 'classifier', sample_size: '500' }));
    const done = await waitFor(async () => {
      const d = await t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'iris-knn' }));
      return d.TrainingJobStatus !== 'InProgress' ? d : undefined;
    }, 30_000);
    expect(done.FailureReason).toBeUndefined();
    expect(done.TrainingJobStatus).toBe('Completed');
    expect(done.SecondaryStatus).toBe('Completed');
    expect(done.TrainingJobArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:training-job/iris-knn');
    expect(done.ModelArtifacts?.S3ModelArtifacts).toBe('s3://mlb/output/iris-knn/output/model.tar.gz');
    expect(done.SecondaryStatusTransitions?.map((s) => s.Status)).toEqual(['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(done.TrainingStartTime).toBeInstanceOf(Date);
    expect(done.TrainingEndTime!.getTime()).toBeGreaterThanOrEqual(done.TrainingStartTime!.getTime());
    const acc = done.FinalMetricDataList?.find((m) => m.MetricName === 'test:accuracy');
    expect(acc?.Value).toBeGreaterThanOrEqual(0.9);

    // model.tar.gz is a real gzip'd tar
    const obj = await t.s3.send(new GetObjectCommand({ Bucket: 'mlb', Key: 'output/iris-knn/output/model.tar.gz' }));
    const raw = gunzipSync(Buffer.from(await obj.Body!.transformToByteArray()));
    expect(raw.subarray(257, 262).toString()).toBe('ustar');

    // every status / secondary-status change arrived on the queue, in AWS's envelope
    const events = await waitFor(async () => {
      const evs = (await drainEvents()).filter((e) => e['detail-type'] === 'SageMaker Training Job State Change');
      return evs.length ? evs : undefined;
    });
    const secondary = events.map((e) => e.detail.SecondaryStatus);
    expect(secondary).toEqual(['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    const last = events[events.length - 1];
    expect(last).toMatchObject({
      version: '0',
      source: 'aws.sagemaker',
      account: '000000000000',
      region: 'us-east-1',
      resources: ['arn:aws:sagemaker:us-east-1:000000000000:training-job/iris-knn'],
      detail: {
        TrainingJobName: 'iris-knn',
        TrainingJobStatus: 'Completed',
        ModelArtifacts: { S3ModelArtifacts: 's3://mlb/output/iris-knn/output/model.tar.gz' },
        Tags: {},
      },
    });
    expect(typeof last.detail.CreationTime).toBe('number');
    expect(last.detail.CreationTime as number).toBeGreaterThan(1e12); // epoch millis, like SageMaker's events
    expect(last.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(seenOnStream.filter((e) => e['detail-type'] === 'SageMaker Training Job State Change')).toHaveLength(5);

    // KNN log lines are in CloudWatch Logs under /aws/sagemaker/TrainingJobs
    const streams = await t.logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: 'iris-knn/' }));
    expect(streams.logStreams?.[0].logStreamName).toMatch(/^iris-knn\/algo-1-\d+$/);
    const logEvents = await t.logs.send(
      new GetLogEventsCommand({ logGroupName: '/aws/sagemaker/TrainingJobs', logStreamName: streams.logStreams![0].logStreamName!, startFromHead: true }),
    );
    const text = logEvents.events!.map((e) => e.message).join('\n');
    expect(text).toContain('#quality_metric: host=algo-1, test accuracy <score>=');
  }, 60_000);

  it('batch transform predicts held-out rows with accuracy >= 0.9 (application/json, text/csv)', async () => {
    await t.sm.send(
      new CreateModelCommand({
        ModelName: 'iris-model',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: KNN_IMAGE, ModelDataUrl: 's3://mlb/output/iris-knn/output/model.tar.gz' },
      }),
    );
    for (const [name, accept] of [
      ['iris-transform', 'application/json'],
      ['iris-transform-csv', 'text/csv'],
    ] as const) {
      await t.sm.send(
        new CreateTransformJobCommand({
          TransformJobName: name,
          ModelName: 'iris-model',
          TransformInput: {
            DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://mlb/iris/batch/' } },
            ContentType: 'text/csv',
            SplitType: 'Line',
          },
          TransformOutput: { S3OutputPath: `s3://mlb/${name}/`, Accept: accept, AssembleWith: 'Line' },
          TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
        }),
      );
    }
    for (const name of ['iris-transform', 'iris-transform-csv']) {
      const d = await waitFor(async () => {
        const x = await t.sm.send(new DescribeTransformJobCommand({ TransformJobName: name }));
        return x.TransformJobStatus !== 'InProgress' ? x : undefined;
      }, 30_000);
      expect(d.FailureReason).toBeUndefined();
      expect(d.TransformJobStatus).toBe('Completed');
    }
    const json = await (await t.s3.send(new GetObjectCommand({ Bucket: 'mlb', Key: 'iris-transform/test.csv.out' }))).Body!.transformToString();
    const preds = json
      .trim()
      .split('\n')
      .flatMap((l) => (JSON.parse(l) as { predictions: Array<{ predicted_label: number }> }).predictions.map((p) => p.predicted_label));
    expect(preds).toHaveLength(test.length);
    const accuracy = preds.filter((p, i) => p === test[i][0]).length / test.length;
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    expect(json).toMatch(/"predicted_label": \d\.0/);
    const csv = await (await t.s3.send(new GetObjectCommand({ Bucket: 'mlb', Key: 'iris-transform-csv/test.csv.out' }))).Body!.transformToString();
    expect(csv.trim().split('\n').map(Number)).toEqual(preds);
    const transformEvents = (await drainEvents()).filter((e) => e['detail-type'] === 'SageMaker Transform Job State Change');
    expect(transformEvents.map((e) => e.detail.TransformJobStatus)).toContain('Completed');
  }, 60_000);

  it('serves the model from an endpoint: InvokeEndpoint answers like SageMaker KNN; UpdateEndpoint; DeleteEndpoint', async () => {
    await t.sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'iris-cfg',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'iris-model', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
      }),
    );
    await t.sm.send(new CreateEndpointCommand({ EndpointName: 'iris-ep', EndpointConfigName: 'iris-cfg' }));
    expect((await t.sm.send(new DescribeEndpointCommand({ EndpointName: 'iris-ep' }))).EndpointStatus).toBe('Creating');
    await waitFor(async () => (await t.sm.send(new DescribeEndpointCommand({ EndpointName: 'iris-ep' }))).EndpointStatus === 'InService', 30_000);

    const body = toCsv(test.map((r) => r.slice(1)));
    const res = await t.smr.send(
      new InvokeEndpointCommand({ EndpointName: 'iris-ep', ContentType: 'text/csv', Accept: 'application/json', Body: Buffer.from(body) }),
    );
    expect(res.ContentType).toBe('application/json');
    expect(res.InvokedProductionVariant).toBe('AllTraffic');
    const parsed = JSON.parse(Buffer.from(res.Body!).toString()) as { predictions: Array<{ predicted_label: number }> };
    const accuracy = parsed.predictions.filter((p, i) => p.predicted_label === test[i][0]).length / test.length;
    expect(accuracy).toBeGreaterThanOrEqual(0.9);

    const jl = await t.smr.send(
      new InvokeEndpointCommand({
        EndpointName: 'iris-ep',
        ContentType: 'application/json',
        Accept: 'application/jsonlines; verbose=true',
        Body: Buffer.from(JSON.stringify({ instances: [{ features: [5.1, 3.5, 1.4, 0.2] }] })),
      }),
    );
    const line = JSON.parse(Buffer.from(jl.Body!).toString()) as { predicted_label: number; distances: number[]; labels: number[] };
    expect(line.predicted_label).toBe(0);
    expect(line.labels).toHaveLength(5);

    await expect(
      t.smr.send(new InvokeEndpointCommand({ EndpointName: 'iris-ep', ContentType: 'application/x-recordio-protobuf', Body: Buffer.from('x') })),
    ).rejects.toMatchObject({
      name: 'ModelError',
      OriginalStatusCode: 415,
    });
    await expect(t.smr.send(new InvokeEndpointCommand({ EndpointName: 'nope', ContentType: 'text/csv', Body: Buffer.from('1,2,3,4') }))).rejects.toMatchObject({
      name: 'ValidationError',
    });

    await t.sm.send(new UpdateEndpointCommand({ EndpointName: 'iris-ep', EndpointConfigName: 'iris-cfg' }));
    expect((await t.sm.send(new DescribeEndpointCommand({ EndpointName: 'iris-ep' }))).EndpointStatus).toBe('Updating');
    // still serving while updating
    await t.smr.send(new InvokeEndpointCommand({ EndpointName: 'iris-ep', ContentType: 'text/csv', Body: Buffer.from('5.1,3.5,1.4,0.2') }));
    await waitFor(async () => (await t.sm.send(new DescribeEndpointCommand({ EndpointName: 'iris-ep' }))).EndpointStatus === 'InService', 30_000);

    const epEvents = (await drainEvents()).filter((e) => e['detail-type'] === 'SageMaker Endpoint State Change');
    expect(epEvents.map((e) => e.detail.EndpointStatus)).toEqual(['CREATING', 'IN_SERVICE', 'UPDATING', 'IN_SERVICE']);

    await t.sm.send(new DeleteEndpointCommand({ EndpointName: 'iris-ep' }));
    await waitFor(async () => {
      try {
        await t.sm.send(new DescribeEndpointCommand({ EndpointName: 'iris-ep' }));
        return false;
      } catch (e) {
        return (e as Error).name === 'ValidationException';
      }
    });
  }, 60_000);
});
