import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { paginateListTrainingJobs, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClientFactory } from '../../../../src/providers/aws/aws-clients.ts';
import { S3Hook } from '../../../../src/providers/aws/hooks/s3-hook.ts';
import { setupSageMakerEvents } from '../../../../src/providers/aws/setup-events.ts';
import { maskSecrets } from '../../../../src/connections/secret-masker.ts';
import { BUCKET, CONN_ID, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('aws_clients');
}, 30_000);
afterAll(async () => {
  await h?.close();
});

describe('AwsClientFactory', () => {
  it('builds clients from the stored (encrypted) connection, once per (service, connection, region)', async () => {
    const s3 = h.clients.s3(CONN_ID);
    expect(s3).toBeInstanceOf(S3Client);
    expect(h.clients.s3(CONN_ID)).toBe(s3);
    expect(h.clients.s3(CONN_ID, 'eu-west-1')).not.toBe(s3);
    expect(h.clients.sagemaker(CONN_ID)).toBe(h.clients.sagemaker(CONN_ID));
    await s3.send(new ListBucketsCommand({}));
    // SDK paginators accept the factory's clients.
    const sm = h.clients.sagemaker(CONN_ID);
    expect(sm).toBeInstanceOf(SageMakerClient);
    for await (const page of paginateListTrainingJobs({ client: sm }, {})) expect(page.TrainingJobSummaries).toBeDefined();
    expect(await h.clients.region(CONN_ID)).toBe('us-east-1');
  });

  it('a missing named connection is an error naming it; a missing aws_default means the default chain', async () => {
    await expect(h.clients.sqs('no-such-conn').send(new ReceiveMessageCommand({ QueueUrl: 'x' }))).rejects.toThrow("The conn_id 'no-such-conn' isn't defined");
    const s = await h.clients.settings(undefined);
    expect(s).toMatchObject({ connId: 'aws_default', accessKeyId: null, endpointUrl: null });
    // Once the connection exists, the same client works (failed resolutions are not cached).
    await h.connections.upsert({
      conn_id: 'no-such-conn',
      conn_type: 'aws',
      login: 'K',
      password: 'late-added-secret',
      extra: { region_name: 'us-east-1', endpoint_url: h.aws.url },
    });
    await expect(h.clients.s3('no-such-conn').send(new ListBucketsCommand({}))).resolves.toBeDefined();
  });

  it('default chain + AWS_ENDPOINT_URL: env credentials and endpoint, S3 path-style', async () => {
    const env = { AWS_ENDPOINT_URL: h.aws.url, AWS_ACCESS_KEY_ID: 'ENVKEY', AWS_SECRET_ACCESS_KEY: 'env-secret-key', AWS_REGION: 'us-east-1' };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      const f = new AwsClientFactory({ connections: h.connections, env: process.env });
      const hook = new S3Hook({ aws_conn_id: 'aws_default', clients: f });
      await hook.loadString('via env', 's3://env-bucket-check/x.txt', null).catch(async () => {
        await hook.createBucket('env-bucket-check');
        await hook.loadString('via env', 's3://env-bucket-check/x.txt', null);
      });
      expect(await hook.readKey('s3://env-bucket-check/x.txt')).toBe('via env');
      f.destroy();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('role_arn: assumes the role through STS and uses the temporary credentials', async () => {
    await h.connections.upsert({
      conn_id: 'aws_role',
      conn_type: 'aws',
      login: 'AKIABASE',
      password: 'base-secret-key',
      extra: { region_name: 'us-east-1', endpoint_url: h.aws.url, role_arn: 'arn:aws:iam::000000000000:role/deployer' },
    });
    const id = await h.clients.sts('aws_role').send(new GetCallerIdentityCommand({}));
    expect(id.Arn).toContain('assumed-role/deployer/deferflow_aws_role');
    await expect(h.clients.s3('aws_role').send(new ListBucketsCommand({}))).resolves.toBeDefined();
  });
});

describe('S3Hook', () => {
  it("load/read/check/list with Airflow's replace semantics", async () => {
    const s3 = new S3Hook({ aws_conn_id: CONN_ID, clients: h.clients });
    if (!(await s3.checkForBucket(BUCKET))) await s3.createBucket(BUCKET);
    expect(await s3.checkForBucket('does-not-exist-bucket')).toBe(false);
    const file = join(h.dataDir, 'upload.csv');
    writeFileSync(file, 'a,b\n1,2\n');
    await s3.loadFile(file, 'hook/upload.csv', BUCKET);
    expect(await s3.checkForKey('hook/upload.csv', BUCKET)).toBe(true);
    expect(await s3.checkForKey(`s3://${BUCKET}/hook/missing.csv`)).toBe(false);
    await expect(s3.loadFile(file, 'hook/upload.csv', BUCKET)).rejects.toThrow('The key hook/upload.csv already exists.');
    await expect(s3.loadString('x', `s3://${BUCKET}/hook/upload.csv`)).rejects.toThrow('already exists');
    await s3.loadString('replaced', 'hook/upload.csv', BUCKET, true);
    expect(await s3.readKey('hook/upload.csv', BUCKET)).toBe('replaced');
    await s3.loadBytes(new Uint8Array([1, 2, 3]), `s3://${BUCKET}/hook/bytes.bin`, null, { replace: true });
    expect([...(await s3.readKeyBytes('hook/bytes.bin', BUCKET))]).toEqual([1, 2, 3]);
    await s3.loadString('z', 'hook/sub/z.txt', BUCKET, { replace: true, compression: 'gzip' });
    expect(await s3.listKeys(BUCKET, 'hook/')).toEqual(['hook/bytes.bin', 'hook/sub/z.txt', 'hook/upload.csv']);
    expect(await s3.listKeys(BUCKET, 'hook/', { page_size: 1 })).toHaveLength(3);
  });
});

describe('setupSageMakerEvents', () => {
  it('creates queue, DLQ, rule, target and policies; a second run finds them all', async () => {
    const first = await setupSageMakerEvents({ clients: h.clients, connId: CONN_ID });
    expect(first.resources.map((r) => `${r.kind}:${r.outcome}`)).toEqual([
      'dlq:created',
      'queue:created',
      'rule:created',
      'target:created',
      'queue-policy:created',
      'redrive-policy:created',
    ]);
    expect(first.queueArn).toMatch(/:deferflow-sagemaker-events$/);
    const second = await setupSageMakerEvents({ clients: h.clients, connId: CONN_ID });
    expect(second.resources.every((r) => r.outcome === 'found')).toBe(true);
    expect(second.ruleArn).toBe(first.ruleArn);
  });

  it('the rule delivers SageMaker state changes to the queue', async () => {
    const res = await setupSageMakerEvents({ clients: h.clients, connId: CONN_ID });
    const { SageMakerTrainingOperator } = await import('../../../../src/providers/aws/operators/sagemaker-training-operator.ts');
    const { makeTry, trainingConfig, uploadIris } = await import('./harness.ts');
    const data = await uploadIris(h, 'events');
    const op = new SageMakerTrainingOperator({
      taskId: 't',
      config: trainingConfig('knn-events', data.train),
      aws_conn_id: CONN_ID,
      check_interval: 0.02,
      print_log: false,
    });
    await op.execute((await makeTry(h, op)).ctx);
    const got = await h.clients.sqs(CONN_ID).send(new ReceiveMessageCommand({ QueueUrl: res.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const bodies = (got.Messages ?? []).map((m) => JSON.parse(m.Body!) as { 'detail-type': string; detail: { TrainingJobName?: string } });
    expect(bodies.some((b) => b['detail-type'] === 'SageMaker Training Job State Change' && b.detail.TrainingJobName === 'knn-events')).toBe(true);
  }, 60_000);
});

it('secrets from every connection used are masked', () => {
  expect(maskSecrets('base-secret-key late-added-secret local-secret-access-key')).toBe('*** *** ***');
});
