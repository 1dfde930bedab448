import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DAG } from '../../../src/dag/dag.ts';
import { task } from '../../../src/dag/function-task.ts';
import { irisToLabelFirstCsv } from '../../../src/standalone/demo-data.ts';
import { jobSeconds, localObjectPath } from '../../../src/standalone/run-summary.ts';
import { awsConnIdsOf } from '../../../src/standalone/local-aws-for-test.ts';
import { removeStackState, writeStackState } from '../../../src/standalone/standalone-state-file.ts';

describe('irisToLabelFirstCsv', () => {
  it('puts the numeric species label first and skips blank lines', () => {
    const csv = irisToLabelFirstCsv('5.1,3.5,1.4,0.2,Iris-setosa\n\n7.0,3.2,4.7,1.4,Iris-versicolor\r\n6.3,3.3,6.0,2.5,Iris-virginica\n');
    expect(csv).toBe('0,5.1,3.5,1.4,0.2\n1,7.0,3.2,4.7,1.4\n2,6.3,3.3,6.0,2.5\n');
  });
  it('names an unknown species', () => {
    expect(() => irisToLabelFirstCsv('1,2,3,4,Iris-unknown')).toThrow('Unknown Iris species "Iris-unknown"');
  });
});

describe('jobSeconds', () => {
  it('measures creation to the end field of the job kind', () => {
    expect(
      jobSeconds('Training', {
        CreationTime: '2025-04-09T00:00:00.000Z',
        TrainingEndTime: '2025-04-09T00:00:02.500Z',
        LastModifiedTime: '2025-04-09T00:00:09Z',
      }),
    ).toBe(2.5);
    expect(jobSeconds('Transform', { CreationTime: new Date('2025-04-09T00:00:00Z'), TransformEndTime: new Date('2025-04-09T00:01:00Z') })).toBe(60);
  });
  it('falls back to LastModifiedTime, and gives null for a job still running', () => {
    expect(jobSeconds('Training', { CreationTime: '2025-04-09T00:00:00Z', LastModifiedTime: '2025-04-09T00:00:01Z' })).toBe(1);
    expect(jobSeconds('Transform', { CreationTime: '2025-04-09T00:00:00Z' })).toBeNull();
  });
});

describe('localObjectPath', () => {
  it("maps an S3 URI to the local AWS's object file", () => {
    expect(localObjectPath('/data/s3', 's3://deferflow-demo/results/job/output/model.tar.gz')).toBe(
      '/data/s3/deferflow-demo/results/job/output/model.tar.gz!obj',
    );
    expect(localObjectPath('/data/s3', 's3://b/we!rd%key')).toBe('/data/s3/b/we%21rd%25key!obj');
  });
  it('is null without a local S3 dir or a parsable URI', () => {
    expect(localObjectPath(null, 's3://b/k')).toBeNull();
    expect(localObjectPath('/data/s3', 'https://example.com/k')).toBeNull();
    expect(localObjectPath('/data/s3', 's3://b/../escape')).toBeNull();
  });
});

describe('awsConnIdsOf', () => {
  it('collects aws_conn_id from task args and default args', () => {
    const dag = new DAG({ dagId: 'conns', schedule: null, startDate: '2025-01-01', defaultArgs: { aws_conn_id: 'from-defaults' } }, () => {
      task('a', async () => 1);
      task('b', async () => 2, { aws_conn_id: 'own' } as never);
    });
    expect(awsConnIdsOf(dag)).toEqual(['from-defaults', 'own']);
    const plain = new DAG({ dagId: 'plain', schedule: null, startDate: '2025-01-01' }, () => {
      task('a', async () => 1);
    });
    expect(awsConnIdsOf(plain)).toEqual([]);
  });
});

describe('standalone.json', () => {
  const home = mkdtempSync(join(tmpdir(), 'deferflow-state-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  it('is written for this process and removed only by it', () => {
    const path = writeStackState(home, {
      mongoUri: 'mongodb://127.0.0.1:27017/x',
      pid: process.pid,
      startedAt: '2025-04-09T00:00:00Z',
      localAwsUrl: 'http://127.0.0.1:1',
    });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({
      mongoUri: 'mongodb://127.0.0.1:27017/x',
      pid: process.pid,
      localAwsUrl: 'http://127.0.0.1:1',
    });
    removeStackState(home, process.pid + 1);
    expect(existsSync(path)).toBe(true);
    removeStackState(home);
    expect(existsSync(path)).toBe(false);
  });
});
