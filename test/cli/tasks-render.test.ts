/**
 * `deferflow tasks render DAG TASK DATE|RUN_ID` from the real executable: a SageMaker training
 * config rendered with the worker's context (logical date, params + conf, variables, connections,
 * XComs of the run), secrets masked, nothing run and nothing written.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { XComRepository } from '../../src/store/repositories/xcom-repository.ts';
import { COLLECTIONS } from '../../src/store/schema.ts';
import { createCliHarness, ROOT, type CliHarness } from './cli-harness.ts';

const env = { DEFERFLOW_DAGS_FOLDER: join(ROOT, 'test/fixtures/render-dags') };
const SECRET = 'render-secret-Zx81';

let h: CliHarness;
let store: Store;
beforeAll(async () => {
  h = await createCliHarness('render');
  store = await Store.connect({ uri: h.uri });
});
afterAll(async () => {
  await store?.close();
  await h?.close();
});

interface Rendered {
  dag_id: string;
  task_id: string;
  run_id: string;
  run_exists: boolean;
  logical_date: string;
  try_number: number;
  fields: { config: Record<string, unknown> };
}

/** Every document of every collection, to show rendering wrote nothing. */
async function snapshot(): Promise<Record<string, unknown[]>> {
  const db = h.client.db(h.dbName);
  const out: Record<string, unknown[]> = {};
  for (const c of Object.values(COLLECTIONS)) out[c] = await db.collection(c).find({}).sort({ _id: 1 }).toArray();
  return out;
}

describe('deferflow tasks render', { timeout: 120_000 }, () => {
  it("renders every template field with the worker's context for a run, and writes nothing", async () => {
    const setup = [
      ['variables', 'set', 's3_bucket', 'render-bucket'],
      [
        'connections',
        'add',
        'aws_render',
        '--conn-type',
        'aws',
        '--conn-login',
        'AKIARENDER',
        '--conn-password',
        SECRET,
        '--conn-extra',
        '{"role_arn": "arn:aws:iam::123456789012:role/Render"}',
      ],
      ['dags', 'trigger', 'templated_training', '-e', '2025-04-09', '--conf', '{"suffix": "from-conf"}'],
    ];
    for (const args of setup) {
      const r = await h.run(args, { env });
      expect(r.code, r.stderr).toBe(0);
    }
    const runId = 'manual__2025-04-09T00:00:00+00:00';
    // The upstream task has run: its return value is there for ti.xcom_pull.
    await new XComRepository(store).push({ dag_id: 'templated_training', run_id: runId, task_id: 'prepare' }, 'return_value', { k: 5 });
    const before = await snapshot();

    const r = await h.json<Rendered>(['tasks', 'render', 'templated_training', 'train', '2025-04-09'], { env });
    expect(r).toMatchObject({
      dag_id: 'templated_training',
      task_id: 'train',
      run_id: runId,
      run_exists: true,
      logical_date: '2025-04-09T00:00:00+00:00',
      try_number: 1,
    });
    expect(r.fields.config).toEqual({
      TrainingJobName: 'knn-20250409-from-conf',
      HyperParameters: { k: '5', epochs: '3' },
      InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3Uri: 's3://render-bucket/iris/2025-04-09/train.csv' } } }],
      RoleArn: 'arn:aws:iam::123456789012:role/Render',
      Tags: [{ Key: 'leak', Value: '***' }],
    });
    // By run id too, and as Airflow prints it: a banner per field, then the value.
    const table = await h.run(['tasks', 'render', 'templated_training', 'train', runId], { env });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('# property: config\n# ----------------------------------------------------------\n{');
    expect(table.stdout).toContain('"TrainingJobName": "knn-20250409-from-conf"');
    const plain = await h.run(['tasks', 'render', 'templated_training', 'train', runId, '-o', 'plain'], { env });
    expect(plain.stdout.trim()).toMatch(/^config\t\{"TrainingJobName":"knn-20250409-from-conf",/);
    for (const out of [table.stdout, plain.stdout, JSON.stringify(r)]) expect(out).not.toContain(SECRET);

    expect(await snapshot()).toEqual(before);
  });

  it('renders a date without a run as the run `dags trigger` would create, and says so', async () => {
    const r = await h.run(['tasks', 'render', 'templated_training', 'train', '2025-05-01', '-o', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('No run of templated_training at 2025-05-01T00:00:00+00:00');
    const doc = JSON.parse(r.stdout) as Rendered;
    expect(doc).toMatchObject({ run_id: 'manual__2025-05-01T00:00:00+00:00', run_exists: false });
    // DAG params, no conf; no XCom in a run that does not exist (Airflow renders None).
    expect(doc.fields.config).toMatchObject({ TrainingJobName: 'knn-20250501-from-params', HyperParameters: { epochs: '3' } });
    expect(await store.dagRuns.countDocuments({ dag_id: 'templated_training', run_id: doc.run_id })).toBe(0);
  });

  it("renders the seed guide's training config (the guide's way to check it before a run)", async () => {
    const r = await h.json<Rendered>(['tasks', 'render', 'sagemaker_training_dag', 'train_task', '2025-04-09'], {
      env: { DEFERFLOW_DAGS_FOLDER: join(ROOT, 'dags') },
    });
    expect(r.fields.config).toMatchObject({ TrainingJobName: 'my-training-job-2025-04-09', RoleArn: 'arn:aws:iam::000000000000:role/SageMakerRole' });
  });

  it('says what is wrong: bad input (exit 2), unknown task, a template that cannot render', async () => {
    const neither = await h.run(['tasks', 'render', 'templated_training', 'train', 'no-such-run'], { env });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('is neither a logical date nor the run id of a run of templated_training');
    const missingArg = await h.run(['tasks', 'render', 'templated_training', 'train'], { env });
    expect(missingArg.code).toBe(2);
    const badId = await h.run(['tasks', 'render', 'templated training', 'train', '2025-04-09'], { env });
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('DAG_ID');
    const unknown = await h.run(['tasks', 'render', 'templated_training', 'nope', '2025-04-09'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Error [TASK_NOT_FOUND]: Task 'nope' not found in DAG 'templated_training'");
    expect(unknown.stderr).toContain('The DAG has: prepare, broken, train');
    const broken = await h.run(['tasks', 'render', 'templated_training', 'broken', '2025-04-09'], { env });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('Error [TEMPLATE_RENDER_ERROR]');
    expect(broken.stderr).toContain('Variable no_such_variable does not exist');
    expect(broken.stderr).toContain('Hint: Fix the template of config');
  });
});
