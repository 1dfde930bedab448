/**
 * Seed 1, Airflow's SageMakerTrainingOperator guide, without `deferflow standalone`: the commands
 * of the guide against separate processes (local-aws, scheduler, worker, triggerer), each the real
 * CLI binary, sharing a fresh database of the test server. Then `tasks test` with no AWS and no
 * stack at all, which starts a local AWS for itself.
 */
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, ROOT, type CliHarness, type RunningCli } from '../cli/cli-harness.ts';
import { uploadDemoData } from '../../src/standalone/demo-data.ts';
import { NO_AWS_ENV } from './e2e-env.ts';
import { poller } from '../support/wait-for.ts';

const env = { ...NO_AWS_ENV, DEFERFLOW_DAGS_FOLDER: join(ROOT, 'dags') };

const waitFor = poller({ timeoutMs: 60_000, intervalMs: 200 });

interface TiRow {
  task_id: string;
  state: string | null;
  run_id: string;
}

describe('seed 1 with separate processes', { timeout: 180_000 }, () => {
  let h: CliHarness;
  let localAws: RunningCli;
  let awsUrl: string;
  const procs: RunningCli[] = [];

  beforeAll(async () => {
    h = await createCliHarness('seed1');
    localAws = h.start(['local-aws', '--port', '0', '--data-dir', join(h.home, 'local-aws')], { env });
    awsUrl = await waitFor('the local AWS URL', async () => /listening on (http:\/\/\S+)/.exec(localAws.output())?.[1]);
    // The guide assumes the training data is already in the bucket.
    const s3 = new S3Client({ endpoint: awsUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, forcePathStyle: true });
    await uploadDemoData(s3);
    s3.destroy();
  });
  afterAll(async () => {
    for (const p of procs) await p.stop();
    await localAws?.stop();
    await h?.close();
  });

  it('connections add / variables set / aws setup-events, then dags trigger runs the training job', async () => {
    const extra = JSON.stringify({ role_arn: 'arn:aws:iam::000000000000:role/deferflow-airflow', endpoint_url: awsUrl, region_name: 'us-east-1' });
    const add = await h.run(
      ['connections', 'add', 'aws_default', '--conn-type', 'aws', '--conn-login', 'AKIDEXAMPLE', '--conn-password', 'local-secret-key', '--conn-extra', extra],
      { env },
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout + add.stderr).not.toContain('local-secret-key');
    expect((await h.run(['variables', 'set', 's3_bucket', 'deferflow-demo'], { env })).code).toBe(0);
    const setup = await h.json<{ queueUrl: string }>(['aws', 'setup-events', '--aws-conn-id', 'aws_default'], { env });
    expect(setup.queueUrl).toContain('deferflow-sagemaker-events');

    const init = await h.run(['db', 'init'], { env });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain(`Initialized database ${h.dbName}`);
    procs.push(h.start(['scheduler'], { env }));
    procs.push(h.start(['worker', '--slots', '2'], { env }));
    // No --events-queue-url: the triggerer finds the queue setup-events made for this deployment (issue 14.4).
    const triggerer = h.start(['triggerer', '--aws-conn-id', 'aws_default'], { env });
    procs.push(triggerer);
    await waitFor("the triggerer to find its deployment's queue", () => triggerer.output().includes(`events from ${setup.queueUrl}`), 60_000);

    const trig = await h.run(['dags', 'trigger', '-e', '2025-04-09', 'sagemaker_training_dag'], { env });
    expect(trig.code, trig.stderr).toBe(0);
    expect(trig.stdout).toContain('manual__2025-04-09T00:00:00+00:00');

    const rows = await waitFor(
      'train_task to succeed',
      async () => {
        const r = await h.json<TiRow[]>(['tasks', 'states-for-dag-run', 'sagemaker_training_dag', '2025-04-09'], { env });
        if (r[0]?.state === 'failed')
          throw new Error(`train_task failed:\n${(await h.run(['tasks', 'logs', 'sagemaker_training_dag', '2025-04-09', 'train_task'], { env })).stdout}`);
        return r[0]?.state === 'success' ? r : null;
      },
      90_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n--- processes:\n${procs.map((p) => p.output()).join('\n---\n')}`);
    });
    expect(rows.map((r) => [r.task_id, r.state])).toEqual([['train_task', 'success']]);
    const table = await h.run(['tasks', 'states-for-dag-run', 'sagemaker_training_dag', '2025-04-09'], { env });
    expect(table.stdout).toMatch(/sagemaker_training_dag.*2025-04-09T00:00:00\+00:00.*train_task.*success/);

    // Job creation, its states and its output, in the task log.
    const logs = await h.run(['tasks', 'logs', 'sagemaker_training_dag', '2025-04-09', 'train_task'], { env });
    expect(logs.stdout).toContain('Creating SageMaker training job my-training-job-2025-04-09');
    expect(logs.stdout).toMatch(/Training job my-training-job-2025-04-09: InProgress/);
    expect(logs.stdout).toMatch(/Training job my-training-job-2025-04-09: Completed/);
    const xcom = await h.client.db(h.dbName).collection('xcom').findOne({ dag_id: 'sagemaker_training_dag', task_id: 'train_task', key: 'return_value' });
    const result = JSON.parse(String(xcom?.value)) as { Training: { TrainingJobName: string; ModelArtifacts: { S3ModelArtifacts: string } } };
    expect(result.Training.ModelArtifacts.S3ModelArtifacts).toBe('s3://deferflow-demo/output/my-training-job-2025-04-09/output/model.tar.gz');

    // The webserver process sees the same run.
    const web = h.start(['webserver', '--port', '0'], { env });
    procs.push(web);
    const webUrl = await waitFor('the webserver URL', async () => /listening on (http:\/\/\S+)/.exec(web.output())?.[1]);
    const apiRuns = (await (await fetch(`${webUrl}/api/v1/dags/sagemaker_training_dag/dagRuns`)).json()) as {
      dag_runs: Array<{ dag_run_id: string; state: string }>;
    };
    expect(apiRuns.dag_runs.map((r) => [r.dag_run_id, r.state])).toEqual([['manual__2025-04-09T00:00:00+00:00', 'success']]);

    // A second run for the same day: the job name is taken, so action_if_job_exists=increment.
    const again = await h.run(['dags', 'trigger', '-e', '2025-04-09T12:00:00', 'sagemaker_training_dag'], { env });
    expect(again.code, again.stderr).toBe(0);
    await waitFor(
      'the second run to succeed',
      async () => {
        const r = await h.json<TiRow[]>(['tasks', 'states-for-dag-run', 'sagemaker_training_dag', '2025-04-09T12:00:00'], { env });
        return r[0]?.state === 'success' ? r : null;
      },
      90_000,
    );
    const logs2 = await h.run(['tasks', 'logs', 'sagemaker_training_dag', '2025-04-09T12:00:00', 'train_task'], { env });
    expect(logs2.stdout).toContain('Creating SageMaker training job my-training-job-2025-04-09-1');
    expect(logs2.stdout).toMatch(/Training job my-training-job-2025-04-09-1: Completed/);
  });
});

describe('tasks test with no AWS configured and no stack running', { timeout: 120_000 }, () => {
  let h: CliHarness;
  beforeAll(async () => {
    h = await createCliHarness('seed1tt');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('starts a local AWS for the command and trains for real', async () => {
    const r = await h.run(['tasks', 'test', 'sagemaker_training_dag', 'train_task', '2025-04-09'], { env, timeoutMs: 90_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Creating SageMaker training job my-training-job-2025-04-09');
    expect(r.stdout).toMatch(/Training job my-training-job-2025-04-09: Completed/);
    expect(r.stdout).toContain('Task train_task: success');
    // The connection it used lived in the scratch database only: the configured one is untouched.
    expect(await h.client.db(h.dbName).collection('connections').countDocuments()).toBe(0);
    expect(await h.client.db(h.dbName).collection('variables').countDocuments()).toBe(0);
  });

  it('runs the task again each time: the second invocation trains my-training-job-2025-04-09-1 (issue 12.3)', async () => {
    // The first invocation (above) trained my-training-job-2025-04-09 on this home's local AWS. Each
    // `tasks test` is a deployment of its own (a scratch database), so that job is not this one's to
    // continue with: the name is taken, and action_if_job_exists='increment' picks the next.
    const r = await h.run(['tasks', 'test', 'sagemaker_training_dag', 'train_task', '2025-04-09'], { env, timeoutMs: 90_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toContain('submitted earlier by this task');
    expect(r.stdout).toContain("Changed job name to 'my-training-job-2025-04-09-1' to avoid collision.");
    expect(r.stdout).toContain('Creating SageMaker training job my-training-job-2025-04-09-1');
    expect(r.stdout).toMatch(/Training job my-training-job-2025-04-09-1: Completed/);
    expect(r.stdout).toContain('Task train_task: success');
  });
});
