/**
 * Seed 2, the front door: `npm start` (= `node src/cli/bin.mjs start`) as a child process on a
 * fresh database of the test server and a throwaway DEFERFLOW_HOME — local AWS, real KNN, the
 * EventBridge → SQS → triggerer path — must succeed, reach a useful accuracy, and show that the
 * SageMaker tasks waited deferred (no worker slot) for most of their time.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, ROOT, type CliHarness } from '../cli/cli-harness.ts';
import { NO_AWS_ENV } from './e2e-env.ts';

interface StartJson {
  dag_id: string;
  run_id: string;
  state: string;
  tasks: Array<{
    task_id: string;
    state: string;
    running_s: number;
    deferred_s: number;
    job: { kind: string; name: string; status: string; seconds: number | null } | null;
  }>;
  totals: { running_s: number; deferred_s: number; job_s: number };
  accuracy: number | null;
  artifacts: {
    model_s3_uri: string | null;
    predictions_s3_uri: string | null;
    local_s3_dir: string | null;
    model_local_path: string | null;
    predictions_local_path: string | null;
  };
  failure: unknown;
  wall_s: number;
}

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('start');
});
afterAll(async () => {
  await h?.close();
});

const env = { ...NO_AWS_ENV, DEFERFLOW_DAGS_FOLDER: join(ROOT, 'dags') };

describe('deferflow start (npm start)', { timeout: 180_000 }, () => {
  it('runs the seed pipeline to success with deferred SageMaker tasks and reports the account', async () => {
    const r = await h.run(['start', '--output', 'json'], { env, timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as StartJson;
    expect(out.dag_id).toBe('sagemaker_pipeline');
    expect(out.state).toBe('success');
    expect(out.tasks.map((t) => [t.task_id, t.state])).toEqual([
      ['data_prep', 'success'],
      ['train_model', 'success'],
      ['create_model', 'success'],
      ['test_model', 'success'],
      ['evaluate', 'success'],
    ]);
    expect(out.accuracy).toBeGreaterThanOrEqual(0.9);
    const byId = new Map(out.tasks.map((t) => [t.task_id, t]));
    expect(byId.get('train_model')?.job).toMatchObject({ kind: 'Training', status: 'Completed' });
    expect(byId.get('test_model')?.job).toMatchObject({ kind: 'Transform', status: 'Completed' });
    expect(out.artifacts.model_s3_uri).toMatch(/^s3:\/\/deferflow-demo\/results\/knn-iris-\d{8}T\d{6}\/output\/model\.tar\.gz$/);
    expect(out.artifacts.predictions_s3_uri).toMatch(/^s3:\/\/deferflow-demo\/\d{8}T\d{6}\/iris\/batch-output\/test\.csv\.out$/);
    // The local AWS keeps the artifacts where the summary says.
    expect(out.artifacts.local_s3_dir).toBe(join(h.home, 'local-aws', 's3'));
    expect(existsSync(out.artifacts.model_local_path!)).toBe(true);
    expect(existsSync(out.artifacts.predictions_local_path!)).toBe(true);

    // The rows themselves: the SageMaker tasks spent more time deferred than holding a slot.
    const tis = await h.client.db(h.dbName).collection('task_instances').find({ dag_id: 'sagemaker_pipeline', run_id: out.run_id }).toArray();
    for (const id of ['train_model', 'test_model']) {
      const ti = tis.find((t) => t.task_id === id)!;
      expect(ti.state).toBe('success');
      expect(ti.deferred_ms, `${id} deferred_ms vs running_ms`).toBeGreaterThan(ti.running_ms);
      expect(byId.get(id)!.deferred_s).toBeCloseTo(ti.deferred_ms / 1000, 2);
    }
    const accuracy = await h.client
      .db(h.dbName)
      .collection('xcom')
      .findOne({ dag_id: 'sagemaker_pipeline', run_id: out.run_id, task_id: 'evaluate', key: 'accuracy' });
    expect(JSON.parse(String(accuracy?.value))).toBe(out.accuracy);
    // Progress went to stderr (stdout is the JSON document), one line per state change.
    expect(r.stderr).toContain('train_model: running → deferred');
    expect(r.stderr).toMatch(/train_model: waiting on .*knn-iris-\d{8}T\d{6}/);
    expect(r.stderr).toContain('test_model: deferred → scheduled');
    // Without --serve nothing is left behind for other CLI invocations to find.
    expect(existsSync(join(h.home, 'standalone.json'))).toBe(false);
  });

  it('prints the table, the slot-vs-job account and where the artifacts are', async () => {
    const r = await h.run(['start'], { env, timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/DAG run manual__\S+ of sagemaker_pipeline: success in [\d.]+ s/);
    expect(r.stdout).toMatch(/Worker slot-seconds used: [\d.]+ s — SageMaker job seconds: [\d.]+ s/);
    expect(r.stdout).toMatch(/Accuracy on the held-out set: (9\d|100)\.\d%/);
    expect(r.stdout).toMatch(/model {8}s3:\/\/deferflow-demo\/results\/.*model\.tar\.gz/);
    expect(r.stdout).toContain(`local S3     ${join(h.home, 'local-aws', 's3')}`);
  });

  it('exits non-zero with the failing task and its log tail', async () => {
    // A bucket variable the DAG cannot use: data_prep fails on its S3 upload.
    const set = await h.run(['variables', 'set', 's3_bucket', 'Not_A_Valid_Bucket'], { env });
    expect(set.code, set.stderr).toBe(0);
    const r = await h.run(['start'], { env, timeoutMs: 150_000 });
    await h.run(['variables', 'delete', 's3_bucket'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/of sagemaker_pipeline: failed/);
    expect(r.stderr).toContain('Task data_prep failed');
    expect(r.stderr).toContain('Last log lines:');
    expect(r.stderr).toMatch(/ERROR - /);
  });
});
