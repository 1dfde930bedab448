import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { CreateTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import type { EventBridgeEvent } from '../../src/local-aws/index.ts';
import { KNN_IMAGE, ROLE, startTestAws, waitFor, type TestAws } from './helpers.ts';

let t: TestAws;
const queueArn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;

async function receiveAll(name: string, waitSeconds = 1): Promise<string[]> {
  const QueueUrl = `${t.aws.url}/000000000000/${name}`;
  const out: string[] = [];
  for (;;) {
    const r = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }));
    if (!r.Messages?.length) return out;
    for (const m of r.Messages) {
      out.push(m.Body!);
      await t.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

beforeAll(async () => {
  t = await startTestAws({ faults: { simulateJobs: true, stageDelayMs: 10 } });
  for (const q of ['custom', 'paths', 'faulty']) await t.sqs.send(new CreateQueueCommand({ QueueName: q }));
});
afterAll(() => t.close());

describe('EventBridge (AWS JSON 1.1)', () => {
  it('PutRule validates patterns; DescribeRule/ListRules; DeleteRule refuses while targets exist', async () => {
    await expect(t.eb.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"source":"x"}' }))).rejects.toMatchObject({
      name: 'InvalidEventPatternException',
    });
    await expect(t.eb.send(new PutRuleCommand({ Name: 'none' }))).rejects.toMatchObject({ name: 'ValidationException' });
    const { RuleArn } = await t.eb.send(
      new PutRuleCommand({
        Name: 'orders',
        EventPattern: JSON.stringify({ source: ['my.app'], detail: { amount: [{ numeric: ['>', 100] }] } }),
        Description: 'big orders',
      }),
    );
    expect(RuleArn).toBe('arn:aws:events:us-east-1:000000000000:rule/orders');
    const d = await t.eb.send(new DescribeRuleCommand({ Name: 'orders' }));
    expect(d).toMatchObject({ Name: 'orders', State: 'ENABLED', EventBusName: 'default', Description: 'big orders' });
    expect((await t.eb.send(new ListRulesCommand({ NamePrefix: 'ord' }))).Rules?.map((r) => r.Name)).toEqual(['orders']);
    await t.eb.send(new PutTargetsCommand({ Rule: 'orders', Targets: [{ Id: 'q', Arn: queueArn('custom') }] }));
    expect((await t.eb.send(new ListTargetsByRuleCommand({ Rule: 'orders' }))).Targets?.[0]).toMatchObject({ Id: 'q', Arn: queueArn('custom') });
    await expect(t.eb.send(new DeleteRuleCommand({ Name: 'orders' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: "Rule can't be deleted since it has targets.",
    });
    await expect(t.eb.send(new DescribeRuleCommand({ Name: 'ghost' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('PutEvents routes custom events through rules to SQS; disabled rules do not deliver', async () => {
    const r = await t.eb.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'my.app', DetailType: 'Order', Detail: JSON.stringify({ amount: 150 }) },
          { Source: 'my.app', DetailType: 'Order', Detail: JSON.stringify({ amount: 50 }) },
          { Source: 'my.app', DetailType: 'Order', Detail: 'not json' },
        ],
      }),
    );
    expect(r.FailedEntryCount).toBe(1);
    expect(r.Entries?.[2]).toMatchObject({ ErrorCode: 'MalformedDetail' });
    const got = (await receiveAll('custom')).map((b) => JSON.parse(b) as EventBridgeEvent);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ source: 'my.app', 'detail-type': 'Order', detail: { amount: 150 }, account: '000000000000' });
    await t.eb.send(new DisableRuleCommand({ Name: 'orders' }));
    await t.eb.send(new PutEventsCommand({ Entries: [{ Source: 'my.app', DetailType: 'Order', Detail: JSON.stringify({ amount: 999 }) }] }));
    expect(await receiveAll('custom', 0)).toHaveLength(0);
    await t.eb.send(new EnableRuleCommand({ Name: 'orders' }));
    await t.eb.send(new RemoveTargetsCommand({ Rule: 'orders', Ids: ['q'] }));
    await t.eb.send(new DeleteRuleCommand({ Name: 'orders' }));
  });

  it('honours Input, InputPath and InputTransformer on targets', async () => {
    await t.eb.send(new PutRuleCommand({ Name: 'shapes', EventPattern: JSON.stringify({ source: ['shapes'] }) }));
    await t.eb.send(
      new PutTargetsCommand({
        Rule: 'shapes',
        Targets: [
          { Id: 'const', Arn: queueArn('paths'), Input: '{"fixed":true}' },
          { Id: 'path', Arn: queueArn('paths'), InputPath: '$.detail' },
          { Id: 'xf', Arn: queueArn('paths'), InputTransformer: { InputPathsMap: { n: '$.detail.name' }, InputTemplate: '{"hello":"<n>"}' } },
        ],
      }),
    );
    await t.eb.send(new PutEventsCommand({ Entries: [{ Source: 'shapes', DetailType: 'x', Detail: JSON.stringify({ name: 'sq' }) }] }));
    const bodies = (await receiveAll('paths')).sort();
    expect(bodies).toEqual(['{"fixed":true}', '{"hello":"sq"}', '{"name":"sq"}']);
  });

  it('TestEventPattern', async () => {
    const ev = JSON.stringify({
      id: '1',
      source: 'a',
      'detail-type': 'b',
      account: '1',
      time: '2024-01-01T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: { x: 5 },
    });
    expect((await t.eb.send(new TestEventPatternCommand({ EventPattern: '{"detail":{"x":[{"numeric":[">",1]}]}}', Event: ev }))).Result).toBe(true);
    expect((await t.eb.send(new TestEventPatternCommand({ EventPattern: '{"detail":{"x":[1]}}', Event: ev }))).Result).toBe(false);
  });

  it('event fault knobs: drop, duplicate, reorder (seeded) on SageMaker events, same on events$ and SQS', async () => {
    await t.eb.send(new PutRuleCommand({ Name: 'sm', EventPattern: JSON.stringify({ source: ['aws.sagemaker'] }) }));
    await t.eb.send(new PutTargetsCommand({ Rule: 'sm', Targets: [{ Id: 'q', Arn: queueArn('faulty') }] }));
    const stream: string[] = [];
    const sub = t.aws.events$.subscribe((e) => stream.push(`${String(e.detail.TrainingJobName)}:${String(e.detail.SecondaryStatus)}`));
    const create = (name: string) =>
      t.sm.send(
        new CreateTrainingJobCommand({
          TrainingJobName: name,
          AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
          RoleArn: ROLE,
          OutputDataConfig: { S3OutputPath: 's3://b/o' },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
          StoppingCondition: { MaxRuntimeInSeconds: 60 },
        }),
      );
    t.aws.setFaults({ eventDropRate: 1 });
    await create('dropped');
    await new Promise((r) => setTimeout(r, 400));
    expect(stream.filter((s) => s.startsWith('dropped'))).toEqual([]);
    t.aws.setFaults({ eventDropRate: 0, eventDuplicateRate: 1 });
    await create('duped');
    await waitFor(() => stream.filter((s) => s === 'duped:Completed').length === 2);
    expect(stream.filter((s) => s.startsWith('duped'))).toHaveLength(10);
    t.aws.setFaults({ eventDuplicateRate: 0, eventReorderRate: 0.5, seed: 3 });
    await create('reordered');
    await waitFor(() => stream.filter((s) => s.startsWith('reordered')).length === 5);
    const order = stream.filter((s) => s.startsWith('reordered'));
    expect(order.slice().sort()).toEqual(['reordered:Completed', 'reordered:Downloading', 'reordered:Starting', 'reordered:Training', 'reordered:Uploading']);
    t.aws.setFaults({ eventReorderRate: 0, eventDelayMs: 200 });
    const t0 = Date.now();
    await create('delayed');
    await waitFor(() => stream.includes('delayed:Starting'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    t.aws.setFaults({ eventDelayMs: 0 });
    await waitFor(() => stream.includes('delayed:Completed'));
    const viaSqs = (await receiveAll('faulty'))
      .map((b) => JSON.parse(b) as EventBridgeEvent)
      .map((e) => `${String(e.detail.TrainingJobName)}:${String(e.detail.SecondaryStatus)}`);
    expect(viaSqs.sort()).toEqual(stream.slice().sort());
    sub.unsubscribe();
  }, 30_000);
});
