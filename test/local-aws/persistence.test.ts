import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DescribeRuleCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateLogGroupCommand, CreateLogStreamCommand, GetLogEventsCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { EventBridgeEvent } from '../../src/local-aws/index.ts';
import { ROLE, startTestAws, tempDir, waitFor } from './helpers.ts';

const SCRIPT_IMAGE = 'local/trainer:1';
const scriptImages = { [SCRIPT_IMAGE]: { command: [process.execPath, fileURLToPath(new URL('./fixtures/train-script.mjs', import.meta.url))] } };

describe('persistence across restarts', () => {
  it('keeps jobs, rules, queues + messages, logs and objects; in-flight jobs come back Failed with an event', async () => {
    const dataDir = tempDir();
    const a = await startTestAws({ dataDir, scriptImages });
    await a.s3.send(new CreateBucketCommand({ Bucket: 'keep' }));
    await a.s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'data/x.csv', Body: 'a,1\n' }));
    const { QueueUrl } = await a.sqs.send(new CreateQueueCommand({ QueueName: 'events', Attributes: { VisibilityTimeout: '7' } }));
    await a.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'survives' }));
    await a.eb.send(new PutRuleCommand({ Name: 'sm', EventPattern: JSON.stringify({ source: ['aws.sagemaker'], detail: { TrainingJobStatus: ['Failed'] } }) }));
    await a.eb.send(new PutTargetsCommand({ Rule: 'sm', Targets: [{ Id: 'q', Arn: 'arn:aws:sqs:us-east-1:000000000000:events' }] }));
    await a.logs.send(new CreateLogGroupCommand({ logGroupName: 'app' }));
    await a.logs.send(new CreateLogStreamCommand({ logGroupName: 'app', logStreamName: 's' }));
    await a.logs.send(new PutLogEventsCommand({ logGroupName: 'app', logStreamName: 's', logEvents: [{ timestamp: Date.now(), message: 'persisted line' }] }));
    await a.sm.send(
      new CreateTrainingJobCommand({
        TrainingJobName: 'long-job',
        AlgorithmSpecification: { TrainingImage: SCRIPT_IMAGE, TrainingInputMode: 'File' },
        RoleArn: ROLE,
        HyperParameters: { mode: 'sleep' },
        InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://keep/data/' } } }],
        OutputDataConfig: { S3OutputPath: 's3://keep/out' },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 5 },
        StoppingCondition: { MaxRuntimeInSeconds: 600 },
      }),
    );
    await waitFor(async () => (await a.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'long-job' }))).SecondaryStatus === 'Training');
    await a.close({ keepData: true });

    const b = await startTestAws({ dataDir, scriptImages });
    try {
      const d = await b.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'long-job' }));
      expect(d.TrainingJobStatus).toBe('Failed');
      expect(d.FailureReason).toBe('Local AWS restarted while the job was running');
      const newUrl = `${b.aws.url}/000000000000/events`;
      const attrs = await b.sqs.send(new GetQueueAttributesCommand({ QueueUrl: newUrl, AttributeNames: ['VisibilityTimeout'] }));
      expect(attrs.Attributes?.VisibilityTimeout).toBe('7');
      const msgs = await b.sqs.send(new ReceiveMessageCommand({ QueueUrl: newUrl, MaxNumberOfMessages: 10 }));
      const bodies = msgs.Messages!.map((m) => m.Body!);
      expect(bodies).toContain('survives');
      const failedEvent = bodies.filter((x) => x !== 'survives').map((x) => JSON.parse(x) as EventBridgeEvent)[0];
      expect(failedEvent.detail).toMatchObject({
        TrainingJobName: 'long-job',
        TrainingJobStatus: 'Failed',
        FailureReason: 'Local AWS restarted while the job was running',
      });
      expect((await b.eb.send(new DescribeRuleCommand({ Name: 'sm' }))).State).toBe('ENABLED');
      const logs = await b.logs.send(new GetLogEventsCommand({ logGroupName: 'app', logStreamName: 's', startFromHead: true }));
      expect(logs.events?.map((e) => e.message)).toEqual(['persisted line']);
      const obj = await b.s3.send(new GetObjectCommand({ Bucket: 'keep', Key: 'data/x.csv' }));
      expect(await obj.Body!.transformToString()).toBe('a,1\n');
    } finally {
      await b.close();
    }
  }, 40_000);
});
