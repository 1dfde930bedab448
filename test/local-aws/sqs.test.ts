import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { startTestAws, type TestAws } from './helpers.ts';

let t: TestAws;
beforeAll(async () => {
  t = await startTestAws();
});
afterAll(() => t.close());

describe('SQS (AWS JSON 1.0)', () => {
  it('creates queues with attributes; URL form http://127.0.0.1:<port>/<account>/<name>', async () => {
    const { QueueUrl } = await t.sqs.send(new CreateQueueCommand({ QueueName: 'q1', Attributes: { VisibilityTimeout: '5' } }));
    expect(QueueUrl).toBe(`${t.aws.url}/000000000000/q1`);
    expect((await t.sqs.send(new GetQueueUrlCommand({ QueueName: 'q1' }))).QueueUrl).toBe(QueueUrl);
    const attrs = await t.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    expect(attrs.Attributes).toMatchObject({ VisibilityTimeout: '5', QueueArn: 'arn:aws:sqs:us-east-1:000000000000:q1', ApproximateNumberOfMessages: '0' });
    expect((await t.sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'q' }))).QueueUrls).toContain(QueueUrl);
    // same name, same attributes: idempotent; different attributes: QueueNameExists
    await t.sqs.send(new CreateQueueCommand({ QueueName: 'q1', Attributes: { VisibilityTimeout: '5' } }));
    await expect(t.sqs.send(new CreateQueueCommand({ QueueName: 'q1', Attributes: { VisibilityTimeout: '6' } }))).rejects.toMatchObject({
      name: 'QueueNameExists',
    });
  });

  it('QueueDoesNotExist in the JSON protocol shape', async () => {
    await expect(t.sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
      Code: 'AWS.SimpleQueueService.NonExistentQueue',
    });
    await expect(t.sqs.send(new SendMessageCommand({ QueueUrl: `${t.aws.url}/000000000000/nope`, MessageBody: 'x' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });

  it('sends, receives (MD5s checked by the SDK), attributes, deletes', async () => {
    const { QueueUrl } = await t.sqs.send(new CreateQueueCommand({ QueueName: 'q2' }));
    await t.sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: 'héllo',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'greeting' }, n: { DataType: 'Number', StringValue: '3' } },
      }),
    );
    const r = await t.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'], MaxNumberOfMessages: 10 }),
    );
    expect(r.Messages).toHaveLength(1);
    const m = r.Messages![0];
    expect(m.Body).toBe('héllo');
    expect(m.Attributes).toMatchObject({ ApproximateReceiveCount: '1' });
    expect(Number(m.Attributes!.SentTimestamp)).toBeGreaterThan(Date.now() - 10_000);
    expect(m.MessageAttributes?.kind.StringValue).toBe('greeting');
    await t.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle! }));
    const after = await t.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    expect(after.Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('long polling resolves early when a message arrives, without blocking the server', async () => {
    const { QueueUrl } = await t.sqs.send(new CreateQueueCommand({ QueueName: 'lp' }));
    const t0 = Date.now();
    const poll = t.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }));
    await new Promise((r) => setTimeout(r, 300));
    // the server keeps answering other requests while the poll is pending
    await t.sqs.send(new ListQueuesCommand({}));
    await t.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'wake' }));
    const r = await poll;
    expect(r.Messages?.[0].Body).toBe('wake');
    expect(Date.now() - t0).toBeLessThan(5000);
    const empty = Date.now();
    const none = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(none.Messages ?? []).toHaveLength(0);
    expect(Date.now() - empty).toBeGreaterThanOrEqual(900);
  });

  it('visibility timeout hides a received message, then it comes back; ChangeMessageVisibility works', async () => {
    const { QueueUrl } = await t.sqs.send(new CreateQueueCommand({ QueueName: 'vis' }));
    await t.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'm' }));
    const a = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 1 }));
    expect(a.Messages).toHaveLength(1);
    expect((await t.sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages ?? []).toHaveLength(0);
    // long poll wakes when the message becomes visible again
    const b = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
    expect(b.Messages?.[0].Attributes?.ApproximateReceiveCount).toBe('2');
    await t.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: b.Messages![0].ReceiptHandle!, VisibilityTimeout: 0 }));
    const c = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(c.Messages).toHaveLength(1);
    await expect(t.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: 'garbage', VisibilityTimeout: 1 }))).rejects.toMatchObject({
      name: 'ReceiptHandleIsInvalid',
    });
  });

  it('redrives to a DLQ after maxReceiveCount', async () => {
    const dlq = await t.sqs.send(new CreateQueueCommand({ QueueName: 'dlq' }));
    const dlqArn = (await t.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
    const { QueueUrl } = await t.sqs.send(
      new CreateQueueCommand({ QueueName: 'src', Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) } }),
    );
    await t.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'poison' }));
    for (let i = 0; i < 2; i++) {
      const r = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0 }));
      expect(r.Messages).toHaveLength(1);
    }
    expect((await t.sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages ?? []).toHaveLength(0);
    const moved = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.QueueUrl, MessageSystemAttributeNames: ['All'] }));
    expect(moved.Messages?.[0].Body).toBe('poison');
    expect(moved.Messages?.[0].Attributes?.DeadLetterQueueSourceArn).toBe('arn:aws:sqs:us-east-1:000000000000:src');
    await expect(
      t.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl,
          Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:none', maxReceiveCount: 2 }) },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidAttributeValue' });
  });

  it('batches, purge, delete queue, parameter validation', async () => {
    const { QueueUrl } = await t.sqs.send(new CreateQueueCommand({ QueueName: 'batch' }));
    const s = await t.sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [0, 1, 2].map((i) => ({ Id: `m${i}`, MessageBody: `b${i}` })) }));
    expect(s.Successful).toHaveLength(3);
    const r = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(r.Messages).toHaveLength(3);
    const d = await t.sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl, Entries: r.Messages!.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })) }),
    );
    expect(d.Successful).toHaveLength(3);
    await expect(t.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11 }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await t.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
    await t.sqs.send(new PurgeQueueCommand({ QueueUrl }));
    expect((await t.sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages ?? []).toHaveLength(0);
    await t.sqs.send(new DeleteQueueCommand({ QueueUrl }));
    await expect(t.sqs.send(new GetQueueUrlCommand({ QueueName: 'batch' }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  });

  it('FIFO queues deduplicate and keep group order', async () => {
    const { QueueUrl } = await t.sqs.send(
      new CreateQueueCommand({ QueueName: 'f.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' } }),
    );
    await t.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'one', MessageGroupId: 'g' }));
    await t.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'one', MessageGroupId: 'g' }));
    await t.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'two', MessageGroupId: 'g' }));
    const r = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(r.Messages?.map((m) => m.Body)).toEqual(['one', 'two']);
  });
});
