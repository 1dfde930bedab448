/**
 * Issue 12 point 2: the Iris pipeline under `deferflow dags test`, against a separately started
 * `deferflow local-aws`, with its `aws-sagemaker` connection stored only in MongoDB (no
 * DEFERFLOW_CONN_* variable, no standalone stack). `data_prep` builds its S3Hook the Airflow way
 * (`new S3Hook({ aws_conn_id })`, no client handed in), so this fails unless hooks resolve
 * connections the same way the operators do: through the clients the process was assembled with.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, ROOT, type CliHarness, type RunningCli } from '../cli/cli-harness.ts';
import { NO_AWS_ENV } from './e2e-env.ts';
import { poller } from '../support/wait-for.ts';

const env = { ...NO_AWS_ENV, DEFERFLOW_DAGS_FOLDER: join(ROOT, 'dags') };
const waitFor = poller({ timeoutMs: 60_000, intervalMs: 200 });

describe('the Iris pipeline under `dags test` with the connection stored only in MongoDB', { timeout: 240_000 }, () => {
  let h: CliHarness;
  let localAws: RunningCli;
  let awsUrl: string;

  beforeAll(async () => {
    h = await createCliHarness('irisdt');
    localAws = h.start(['local-aws', '--port', '0', '--data-dir', join(h.home, 'local-aws')], { env });
    awsUrl = await waitFor('the local AWS URL', async () => /listening on (http:\/\/\S+)/.exec(localAws.output())?.[1]);
  });
  afterAll(async () => {
    await localAws?.stop();
    await h?.close();
  });

  it('runs data_prep → train_model → create_model → test_model → evaluate to success', async () => {
    const extra = JSON.stringify({ endpoint_url: awsUrl, region_name: 'us-east-1' });
    const add = await h.run(
      ['connections', 'add', 'aws-sagemaker', '--conn-type', 'aws', '--conn-login', 'test', '--conn-password', 'test', '--conn-extra', extra],
      {
        env,
      },
    );
    expect(add.code, add.stderr).toBe(0);
    expect((await h.run(['variables', 'set', 's3_bucket', 'iris-dags-test'], { env })).code).toBe(0);
    expect((await h.run(['variables', 'set', 'role', 'arn:aws:iam::000000000000:role/SageMakerRole'], { env })).code).toBe(0);

    const r = await h.run(['dags', 'test', 'sagemaker_pipeline', '2025-04-09', '--output', 'plain'], { env, timeoutMs: 200_000 });
    expect(r.stderr).not.toContain("isn't defined");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const taskId of ['data_prep', 'train_model', 'create_model', 'test_model', 'evaluate']) {
      expect(r.stdout).toMatch(new RegExp(`${taskId}\\s+success`));
    }
    // dags test ran on a scratch database: the configured one keeps only what we stored.
    expect(await h.client.db(h.dbName).collection('connections').countDocuments()).toBe(1);
  });
});
