import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { startTestAws, type TestAws } from './helpers.ts';

let t: TestAws;
beforeAll(async () => {
  t = await startTestAws();
});
afterAll(() => t.close());

describe('STS (query protocol)', () => {
  it('GetCallerIdentity and AssumeRole; assumed credentials identify as the role session', async () => {
    expect(await t.sts.send(new GetCallerIdentityCommand({}))).toMatchObject({ Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root' });
    const r = await t.sts.send(
      new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/deployer', RoleSessionName: 'deferflow', DurationSeconds: 900 }),
    );
    expect(r.Credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(r.Credentials!.Expiration!.getTime()).toBeGreaterThan(Date.now() + 800_000);
    expect(r.AssumedRoleUser?.Arn).toBe('arn:aws:sts::000000000000:assumed-role/deployer/deferflow');
    const assumed = new STSClient({
      endpoint: t.aws.url,
      region: 'us-east-1',
      credentials: { accessKeyId: r.Credentials!.AccessKeyId!, secretAccessKey: r.Credentials!.SecretAccessKey!, sessionToken: r.Credentials!.SessionToken },
    });
    expect((await assumed.send(new GetCallerIdentityCommand({}))).Arn).toBe('arn:aws:sts::000000000000:assumed-role/deployer/deferflow');
    assumed.destroy();
    await expect(t.sts.send(new AssumeRoleCommand({ RoleArn: 'not-an-arn', RoleSessionName: 'x1' }))).rejects.toMatchObject({ name: 'ValidationError' });
  });
});

describe('CloudWatch Logs', () => {
  it('PutLogEvents, GetLogEvents tokens in both directions, FilterLogEvents paging, Describe*', async () => {
    await t.logs.send(new CreateLogGroupCommand({ logGroupName: '/app/one' }));
    await expect(t.logs.send(new CreateLogGroupCommand({ logGroupName: '/app/one' }))).rejects.toMatchObject({ name: 'ResourceAlreadyExistsException' });
    await t.logs.send(new CreateLogStreamCommand({ logGroupName: '/app/one', logStreamName: 'a' }));
    await t.logs.send(new CreateLogStreamCommand({ logGroupName: '/app/one', logStreamName: 'b' }));
    const now = Date.now();
    await t.logs.send(
      new PutLogEventsCommand({
        logGroupName: '/app/one',
        logStreamName: 'a',
        logEvents: Array.from({ length: 5 }, (_, i) => ({ timestamp: now + i, message: `a${i}` })),
      }),
    );
    await t.logs.send(new PutLogEventsCommand({ logGroupName: '/app/one', logStreamName: 'b', logEvents: [{ timestamp: now + 2, message: 'b0' }] }));
    // default (startFromHead=false) returns the newest events
    const tail = await t.logs.send(new GetLogEventsCommand({ logGroupName: '/app/one', logStreamName: 'a', limit: 2 }));
    expect(tail.events?.map((e) => e.message)).toEqual(['a3', 'a4']);
    const back = await t.logs.send(new GetLogEventsCommand({ logGroupName: '/app/one', logStreamName: 'a', limit: 2, nextToken: tail.nextBackwardToken }));
    expect(back.events?.map((e) => e.message)).toEqual(['a1', 'a2']);
    // a tailer polling forward sees new events, then its own token again
    await t.logs.send(new PutLogEventsCommand({ logGroupName: '/app/one', logStreamName: 'a', logEvents: [{ timestamp: now + 10, message: 'a5' }] }));
    const fwd = await t.logs.send(new GetLogEventsCommand({ logGroupName: '/app/one', logStreamName: 'a', nextToken: tail.nextForwardToken }));
    expect(fwd.events?.map((e) => e.message)).toEqual(['a5']);
    const idle = await t.logs.send(new GetLogEventsCommand({ logGroupName: '/app/one', logStreamName: 'a', nextToken: fwd.nextForwardToken }));
    expect(idle.events).toEqual([]);
    expect(idle.nextForwardToken).toBe(fwd.nextForwardToken);

    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const p = await t.logs.send(new FilterLogEventsCommand({ logGroupName: '/app/one', limit: 3, nextToken, startTime: now }));
      seen.push(...p.events!.map((e) => e.message!));
      nextToken = p.nextToken;
    } while (nextToken);
    expect(seen).toEqual(['a0', 'a1', 'a2', 'b0', 'a3', 'a4', 'a5']);
    const prefixed = await t.logs.send(new FilterLogEventsCommand({ logGroupName: '/app/one', logStreamNamePrefix: 'b' }));
    expect(prefixed.events?.map((e) => e.message)).toEqual(['b0']);

    const streams = await t.logs.send(new DescribeLogStreamsCommand({ logGroupName: '/app/one', orderBy: 'LastEventTime', descending: true }));
    expect(streams.logStreams?.map((s) => s.logStreamName)).toEqual(['a', 'b']);
    await expect(
      t.logs.send(new DescribeLogStreamsCommand({ logGroupName: '/app/one', orderBy: 'LastEventTime', logStreamNamePrefix: 'a' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    const groups = await t.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/app' }));
    expect(groups.logGroups?.map((g) => g.logGroupName)).toEqual(['/app/one']);
    await expect(t.logs.send(new GetLogEventsCommand({ logGroupName: '/nope', logStreamName: 'x' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describe('admin endpoint, routing and legacy protocols', () => {
  it('GET /_localaws/health and GET/POST /_localaws/faults', async () => {
    const health = (await (await fetch(`${t.aws.url}/_localaws/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
    const before = (await (await fetch(`${t.aws.url}/_localaws/faults`)).json()) as { stageDelayMs: number };
    expect(before.stageDelayMs).toBe(30);
    const res = await fetch(`${t.aws.url}/_localaws/faults`, { method: 'POST', body: JSON.stringify({ eventDropRate: 0.25, failJobs: ['/^doomed-/'] }) });
    expect(await res.json()).toMatchObject({ eventDropRate: 0.25, failJobs: ['/^doomed-/'] });
    const bad = await fetch(`${t.aws.url}/_localaws/faults`, { method: 'POST', body: JSON.stringify({ eventDropRate: 3 }) });
    expect(bad.status).toBe(400);
    t.aws.setFaults({ eventDropRate: 0, failJobs: [] });
  });

  it('rejects a non-SigV4 Authorization header; unknown JSON operations answer UnknownOperationException', async () => {
    const r = await fetch(`${t.aws.url}/bucket/key`, { headers: { Authorization: 'Basic Zm9vOmJhcg==' } });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('AuthorizationHeaderMalformed');
    const u = await fetch(t.aws.url, {
      method: 'POST',
      headers: { 'X-Amz-Target': 'SageMaker.CreateNotebookInstance', 'Content-Type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(u.status).toBe(400);
    expect(((await u.json()) as { __type: string }).__type).toBe('UnknownOperationException');
  });

  it('SQS legacy query protocol (form POST, XML)', async () => {
    await t.sqs.send(new CreateQueueCommand({ QueueName: 'legacy' }));
    const url = `${t.aws.url}/000000000000/legacy`;
    const post = (params: Record<string, string>) =>
      fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...params, Version: '2012-11-05' }).toString(),
      });
    const sent = await (
      await post({
        Action: 'SendMessage',
        MessageBody: 'old school',
        'MessageAttribute.1.Name': 'a',
        'MessageAttribute.1.Value.DataType': 'String',
        'MessageAttribute.1.Value.StringValue': 'b',
      })
    ).text();
    expect(sent).toContain('<MD5OfMessageBody>');
    const got = await (await post({ Action: 'ReceiveMessage', 'AttributeName.1': 'All', 'MessageAttributeName.1': 'All' })).text();
    expect(got).toContain('<Body>old school</Body>');
    expect(got).toContain('<Name>ApproximateReceiveCount</Name><Value>1</Value>');
    const missing = await fetch(`${t.aws.url}/000000000000/nope`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetQueueAttributes',
    });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('<Code>AWS.SimpleQueueService.NonExistentQueue</Code>');
  });
});
