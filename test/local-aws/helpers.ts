/** Test helpers: a local AWS per test with its own temp dataDir and port 0, and SDK clients pointed at it. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { STSClient } from '@aws-sdk/client-sts';
import { startLocalAws, type LocalAws, type LocalAwsOptions } from '../../src/local-aws/index.ts';

export const FAST = { stageDelayMs: 30 };
export const ROLE = 'arn:aws:iam::000000000000:role/SageMakerRole';
export const KNN_IMAGE = '382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1';

export interface TestAws {
  aws: LocalAws;
  dataDir: string;
  s3: S3Client;
  sm: SageMakerClient;
  smr: SageMakerRuntimeClient;
  sqs: SQSClient;
  eb: EventBridgeClient;
  logs: CloudWatchLogsClient;
  sts: STSClient;
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export function clientConfig(aws: LocalAws) {
  return { endpoint: aws.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'local-aws-test-'));
}

export async function startTestAws(opts: Partial<LocalAwsOptions> = {}): Promise<TestAws> {
  const dataDir = opts.dataDir ?? tempDir();
  const aws = await startLocalAws({ port: 0, ...opts, dataDir, faults: { ...FAST, ...opts.faults } });
  const cfg = clientConfig(aws);
  const t: TestAws = {
    aws,
    dataDir,
    s3: new S3Client({ ...cfg, forcePathStyle: true }),
    sm: new SageMakerClient(cfg),
    smr: new SageMakerRuntimeClient(cfg),
    sqs: new SQSClient(cfg),
    eb: new EventBridgeClient(cfg),
    logs: new CloudWatchLogsClient(cfg),
    sts: new STSClient(cfg),
    async close(o = {}) {
      for (const c of [t.s3, t.sm, t.smr, t.sqs, t.eb, t.logs, t.sts]) c.destroy();
      await aws.close();
      if (!o.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`waitFor timed out${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const SPECIES: Record<string, number> = { 'Iris-setosa': 0, 'Iris-versicolor': 1, 'Iris-virginica': 2 };

/** Iris as label-first numeric rows, split deterministically: every 5th row is held out. */
export function irisSplit(): { train: number[][]; test: number[][] } {
  const lines = readFileSync(new URL('./fixtures/iris.csv', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const rows = lines.map((l) => {
    const c = l.split(',');
    return [SPECIES[c[4]], ...c.slice(0, 4).map(Number)];
  });
  return { train: rows.filter((_, i) => i % 5 !== 4), test: rows.filter((_, i) => i % 5 === 4) };
}

export const toCsv = (rows: number[][]) => rows.map((r) => r.join(',')).join('\n') + '\n';
