/**
 * The triggerer against a real local AWS over HTTP: SageMaker jobs (simulated timelines) emit
 * EventBridge events routed by a rule to an SQS queue, consumed by SqsEventSource. Covers the
 * event path, a lost event recovered by the reconcile sweep, a job that ended before the task
 * deferred (start-up Describe), throttling, a job that does not exist, and malformed messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { SqsEventSource } from '../../../triggerer/sources/sqs-event-source.ts';
import { SageMakerJobTrigger } from '../../../src/providers/aws/deferral/sagemaker-job-trigger.ts';
import { AwsClientFactory } from '../../../src/providers/aws/aws-clients.ts';
import type { Connection } from '../../../src/connections/connection.ts';
import { startTestAws, ROLE, KNN_IMAGE, type TestAws } from '../../local-aws/helpers.ts';
import { TriggererHarness } from './triggerer-harness.ts';
import type { Triggerer } from '../../../triggerer/triggerer.ts';

let aws: TestAws;
let h: TriggererHarness;
let queueUrl: string;
let triggerer: Triggerer;
let awsClients: AwsClientFactory;

const createJob = (name: string) =>
  aws.sm.send(
    new CreateTrainingJobCommand({
      TrainingJobName: name,
      AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
      RoleArn: ROLE,
      OutputDataConfig: { S3OutputPath: 's3://bucket/out' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 60 },
    }),
  );

const metric = async (
  m: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }> },
  labels: Record<string, string> = {},
) => (await m.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);

beforeAll(async () => {
  aws = await startTestAws({ faults: { simulateJobs: true, stageDelayMs: 60 } });
  h = await TriggererHarness.create('sagemaker_e2e');
  queueUrl = (await aws.sqs.send(new CreateQueueCommand({ QueueName: 'deferflow-events' }))).QueueUrl!;
  await aws.eb.send(new PutRuleCommand({ Name: 'sagemaker-to-deferflow', EventPattern: JSON.stringify({ source: ['aws.sagemaker'] }) }));
  await aws.eb.send(
    new PutTargetsCommand({ Rule: 'sagemaker-to-deferflow', Targets: [{ Id: 'q', Arn: 'arn:aws:sqs:us-east-1:000000000000:deferflow-events' }] }),
  );
  // The aws_default connection points at the local AWS; one attempt per call, so throttling reaches the reconciler.
  const conn: Connection = {
    conn_id: 'aws_default',
    conn_type: 'aws',
    description: null,
    host: null,
    schema: null,
    login: 'test',
    password: 'test',
    port: null,
    extra: JSON.stringify({ region_name: 'us-east-1', endpoint_url: aws.aws.url }),
  };
  awsClients = new AwsClientFactory({ connections: (id) => (id === conn.conn_id ? conn : null), maxAttempts: 1 });
  triggerer = h.triggerer({
    services: { awsClients },
    eventSources: [new SqsEventSource({ client: aws.sqs, queueUrl, waitTimeSeconds: 1, visibilityTimeout: 5, logger: h.logger })],
    // Long: the sweep runs only when a test asks (sweepNow), so each test proves its own path.
    sweepIntervalMs: 600_000,
    sweepSafetyMarginMs: 5_000,
  });
  await triggerer.start();
});
afterAll(async () => {
  await triggerer?.stop();
  awsClients?.destroy();
  await h?.close();
  await aws?.close();
});

describe('SageMaker job trigger against the local AWS', () => {
  it('a training job’s EventBridge → SQS event resumes the deferred task, and the message is deleted after', async () => {
    const received = await metric(h.metrics.eventsReceived, { source: 'sqs:deferflow-events' });
    await createJob('e2e-train');
    const d = await h.deferTask(new SageMakerJobTrigger({ job_type: 'training', job_name: 'e2e-train' }));
    const ti = await h.waitForState(d.ti._id, 'scheduled');
    expect(JSON.parse(ti.trigger_event!)).toEqual({ status: 'success', job_name: 'e2e-train', message: 'Training job e2e-train completed' });
    expect(await metric(h.metrics.eventsReceived, { source: 'sqs:deferflow-events' })).toBeGreaterThan(received);
    expect(ti.next_method).toBe('resume');
    await h.waitFor('queue drained', async () => {
      const a = await aws.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      return a.Attributes?.ApproximateNumberOfMessages === '0' && a.Attributes?.ApproximateNumberOfMessagesNotVisible === '0';
    });
  });

  it('a lost event is recovered by the batched sweep (eventDropRate: 1)', async () => {
    aws.aws.setFaults({ eventDropRate: 1 });
    try {
      const before = await metric(h.metrics.sweepRecovered);
      const d = await h.deferTask(new SageMakerJobTrigger({ job_type: 'training', job_name: 'e2e-lost', check_on_start: false }));
      await h.waitFor('claim', () => triggerer.holds(d.trigger._id));
      await createJob('e2e-lost');
      await h.waitFor(
        'job ended',
        async () => (await aws.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'e2e-lost' }))).TrainingJobStatus === 'Completed',
      );
      await new Promise((r) => setTimeout(r, 200));
      expect((await h.ti(d.ti._id)).state).toBe('deferred'); // its events were dropped
      expect(await triggerer.sweepNow()).toBe(1);
      const ti = await h.waitForState(d.ti._id, 'scheduled');
      expect(JSON.parse(ti.trigger_event!)).toMatchObject({ status: 'success', job_name: 'e2e-lost' });
      expect(await metric(h.metrics.sweepRecovered)).toBeGreaterThan(before);
      expect(await metric(h.metrics.awsCalls, { operation: 'ListTrainingJobs' })).toBeGreaterThan(0);
    } finally {
      aws.aws.setFaults({ eventDropRate: 0 });
    }
  });

  it('a job that ended before the task deferred is caught by the one Describe at start', async () => {
    aws.aws.setFaults({ eventDropRate: 1, failJobs: ['e2e-early'] });
    try {
      await createJob('e2e-early');
      await h.waitFor(
        'job ended',
        async () => (await aws.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'e2e-early' }))).TrainingJobStatus === 'Failed',
      );
      const d = await h.deferTask(new SageMakerJobTrigger({ job_type: 'training', job_name: 'e2e-early' }));
      const ti = await h.waitForState(d.ti._id, 'scheduled');
      expect(JSON.parse(ti.trigger_event!)).toMatchObject({ status: 'failed', job_name: 'e2e-early' });
    } finally {
      aws.aws.setFaults({ eventDropRate: 0, failJobs: [] });
    }
  });

  it('throttling backs off without failing anything', async () => {
    await createJob('e2e-throttled');
    // The job ends first, so the start-up Describe — throttled, backing off, then answered — is
    // what resumes the task (its event is dropped and no sweep runs), however slow the machine.
    await h.waitFor(
      'job completed',
      async () => (await aws.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'e2e-throttled' }))).TrainingJobStatus === 'Completed',
    );
    aws.aws.setFaults({ throttleRate: 1, eventDropRate: 1 });
    const before = await metric(h.metrics.awsThrottled);
    const d = await h.deferTask(new SageMakerJobTrigger({ job_type: 'training', job_name: 'e2e-throttled' }));
    await h.waitFor('throttled calls', async () => (await metric(h.metrics.awsThrottled)) > before);
    expect((await h.ti(d.ti._id)).state).toBe('deferred');
    aws.aws.setFaults({ throttleRate: 0 });
    try {
      const ti = await h.waitForState(d.ti._id, 'scheduled');
      expect(JSON.parse(ti.trigger_event!)).toMatchObject({ status: 'success' });
    } finally {
      aws.aws.setFaults({ eventDropRate: 0 });
    }
  });

  it('a job that does not exist fails the trigger (task → __fail__) after a few Describes', async () => {
    const d = await h.deferTask(new SageMakerJobTrigger({ job_type: 'training', job_name: 'e2e-ghost' }));
    const ti = await h.waitForState(d.ti._id, 'scheduled');
    expect(ti.next_method).toBe('__fail__');
    expect(JSON.parse(ti.trigger_event!).error).toMatch(/e2e-ghost does not exist/);
  });

  it('a malformed SQS message is logged and deleted; the consumer keeps going', async () => {
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'this is not an event' }));
    await createJob('e2e-after-garbage');
    const d = await h.deferTask(new SageMakerJobTrigger({ job_type: 'training', job_name: 'e2e-after-garbage' }));
    await h.waitForState(d.ti._id, 'scheduled');
    await h.waitFor('queue drained', async () => {
      const a = await aws.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      return a.Attributes?.ApproximateNumberOfMessages === '0' && a.Attributes?.ApproximateNumberOfMessagesNotVisible === '0';
    });
  });
});
