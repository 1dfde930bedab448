/**
 * The DAG processor and safe DAG-file imports through the real `deferflow` binary:
 *  - `dags list` / `list-import-errors` on files that hang, never settle, exit or throw: each is an
 *    import error, the command ends, and nothing is written to MongoDB;
 *  - a `scheduler` process picks up a DAG file added to its folder while it runs, within one
 *    rescan, and a separate `worker` runs it; an edit runs as a new version, recorded on the run;
 *    a run whose DAG nobody can load says so in `dags state`;
 *  - a DAG project whose package.json lacks "type": "module" (npm's default) imports deferflow.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poller } from '../support/wait-for.ts';
import { createCliHarness, ROOT, type CliHarness } from './cli-harness.ts';

const UNSAFE = join(ROOT, 'test/fixtures/unsafe-dags');
const SRC = join(ROOT, 'src/dag/index.ts');
const waitFor = poller({ timeoutMs: 60_000, intervalMs: 200 });

let h: CliHarness;
const dirs: string[] = [];
beforeAll(async () => {
  h = await createCliHarness('dagproc');
});
afterAll(async () => {
  await h?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

describe('deferflow on unsafe DAG files', { timeout: 120_000 }, () => {
  const env = { DEFERFLOW_DAGS_FOLDER: UNSAFE, DEFERFLOW_DAGBAG_IMPORT_TIMEOUT: '3' };

  it('lists the good DAGs and reports each bad file as an import error, writing nothing', async () => {
    const listed = await h.run(['dags', 'list', '--output', 'json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ dag_id: string }>).map((d) => d.dag_id)).toEqual(['unsafe_neighbour_ok']);
    const table = await h.run(['dags', 'list'], { env });
    expect(table.code).toBe(0);
    expect(table.stderr).toContain('5 file(s) failed to import; see `deferflow dags list-import-errors`');

    const errors = await h.run(['dags', 'list-import-errors', '--output', 'json'], { env });
    expect(errors.code).toBe(1);
    const rows = JSON.parse(errors.stdout) as Array<{ filepath: string; error: string }>;
    const by = Object.fromEntries(rows.map((r) => [r.filepath.slice(UNSAFE.length + 1), r.error]));
    expect(Object.keys(by).sort()).toEqual(['bad_retry_delay.ts', 'exits.ts', 'hangs.ts', 'never_settles.ts', 'throws.ts']);
    expect(by['hangs.ts']).toContain('DAG file import timed out after 3 s');
    expect(by['never_settles.ts']).toContain('never finished');
    expect(by['exits.ts']).toContain(`process.exit(3) while being imported`);
    expect(by['exits.ts']).toContain(`${join(UNSAFE, 'exits.ts')}:5:9`);
    expect(by['throws.ts']).toBe(
      `Error: config.yaml not found\n    at loadConfig (${join(UNSAFE, 'throws.ts')}:5:9)\n    at <anonymous> (${join(UNSAFE, 'throws.ts')}:7:58)`,
    );
    expect(by['bad_retry_delay.ts']).toContain('defaultArgs.retry_delay: Invalid duration "soon"');

    const db = h.client.db(h.dbName);
    expect(await db.collection('dags').countDocuments()).toBe(0);
    expect(await db.collection('import_errors').countDocuments()).toBe(0);
  });
});

describe('a scheduler process and its DAGs folder', { timeout: 240_000 }, () => {
  it('runs a DAG file added while it runs, then its edited version', async () => {
    const folder = await tempDir('deferflow-cli-live-');
    const env = { DEFERFLOW_DAGS_FOLDER: folder, DEFERFLOW_DAG_DIR_LIST_INTERVAL: '1', DEFERFLOW_MIN_FILE_PROCESS_INTERVAL: '1' };
    const hello = (value: string) =>
      `import { DAG, task } from ${JSON.stringify(SRC)};\nexport default new DAG({ dagId: 'cli_live' }, () => {\n  task('say', () => ${JSON.stringify(value)});\n});\n`;
    const scheduler = h.start(['scheduler'], { env });
    const worker = h.start(['worker', '--slots', '2'], { env });
    const db = h.client.db(h.dbName);
    const dags = db.collection<{ _id: string; version?: string; is_active: boolean }>('dags');
    const runs = db.collection<{ _id: string; state: string; dag_version?: string; dag_load_error?: string | null }>('dag_runs');
    const xcom = db.collection<{ _id: string; value: string }>('xcom');
    const diagnose = (e: Error): never => {
      throw new Error(`${e.message}\n--- scheduler:\n${scheduler.output()}\n--- worker:\n${worker.output()}`);
    };
    await waitFor('the scheduler to run', () => scheduler.output().includes('deferflow scheduler')).catch(diagnose);

    await writeFile(join(folder, 'cli_live.ts'), hello('v1'));
    const v1 = await waitFor('the DAG processor to record the new file', async () => (await dags.findOne({ _id: 'cli_live', is_active: true }))?.version).catch(
      diagnose,
    );
    expect((await h.run(['dags', 'trigger', 'cli_live', '-e', '2025-04-09'], { env })).code).toBe(0);
    const first = await waitFor('the first run', async () => {
      const r = await runs.findOne({ _id: 'cli_live|manual__2025-04-09T00:00:00+00:00' });
      return r?.state === 'success' ? r : null;
    }).catch(diagnose);
    expect(first.dag_version).toBe(v1);
    expect((await xcom.findOne({ _id: 'cli_live|manual__2025-04-09T00:00:00+00:00|say|return_value' }))?.value).toBe('"v1"');

    await writeFile(join(folder, 'cli_live.ts'), hello('v2'));
    const v2 = await waitFor('the new version', async () => {
      const v = (await dags.findOne({ _id: 'cli_live' }))?.version;
      return v && v !== v1 ? v : null;
    }).catch(diagnose);
    expect((await h.run(['dags', 'trigger', 'cli_live', '-e', '2025-04-10'], { env })).code).toBe(0);
    const second = await waitFor('the second run', async () => {
      const r = await runs.findOne({ _id: 'cli_live|manual__2025-04-10T00:00:00+00:00' });
      return r?.state === 'success' ? r : null;
    }).catch(diagnose);
    expect(second.dag_version).toBe(v2);
    expect((await xcom.findOne({ _id: 'cli_live|manual__2025-04-10T00:00:00+00:00|say|return_value' }))?.value).toBe('"v2"');

    // A run of a DAG no scheduler can load (here: its file deleted) is stuck, and says so.
    await rm(join(folder, 'cli_live.ts'));
    await waitFor('the DAG to be deactivated', async () => (await dags.findOne({ _id: 'cli_live' }))?.is_active === false).catch(diagnose);
    const now = new Date('2025-04-11T00:00:00Z');
    await runs.insertOne({
      _id: 'cli_live|manual__2025-04-11T00:00:00+00:00',
      dag_id: 'cli_live',
      run_id: 'manual__2025-04-11T00:00:00+00:00',
      run_type: 'manual',
      logical_date: now,
      data_interval_start: now,
      data_interval_end: now,
      state: 'queued',
      queued_at: new Date(),
      start_date: null,
      end_date: null,
      conf: '{}',
      external_trigger: true,
      clear_number: 0,
      note: null,
      updated_at: new Date(),
    } as never);
    await waitFor('the run to be flagged', async () => (await runs.findOne({ _id: 'cli_live|manual__2025-04-11T00:00:00+00:00' }))?.dag_load_error).catch(
      diagnose,
    );
    const state = await h.run(['dags', 'state', 'cli_live', '2025-04-11'], { env });
    expect(state.stdout.trim()).toBe('queued');
    expect(state.stderr).toContain(`Warning: no scheduler can load this run's DAG: DAG 'cli_live' is no longer defined in ${join(folder, 'cli_live.ts')}`);

    expect(await scheduler.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
  });
});

describe('a DAG project whose package.json lacks "type": "module"', { timeout: 180_000 }, () => {
  it('imports deferflow from .ts and .js DAG files, to list and to run', async () => {
    const project = await tempDir('deferflow-cjs-project-');
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'my-dags', version: '1.0.0' }));
    await mkdir(join(project, 'node_modules'));
    await symlink(ROOT, join(project, 'node_modules', 'deferflow'), 'dir');
    await mkdir(join(project, 'dags'));
    await writeFile(
      join(project, 'dags', 'hello.ts'),
      `import { DAG, task } from 'deferflow';\nexport default new DAG({ dagId: 'cjs_project_ts' }, () => {\n  task('say', (): string => 'from a CommonJS-typed project');\n});\n`,
    );
    await writeFile(
      join(project, 'dags', 'plain.js'),
      `import { DAG, task } from 'deferflow';\nexport const dag = new DAG({ dagId: 'cjs_project_js' }, () => {\n  task('say', () => 'js');\n});\n`,
    );
    const env = { DEFERFLOW_DAGS_FOLDER: join(project, 'dags') };
    const errors = await h.run(['dags', 'list-import-errors', '--output', 'json'], { env });
    expect(errors.stdout.trim(), errors.stdout).toBe('[]');
    const listed = await h.json<Array<{ dag_id: string }>>(['dags', 'list'], { env });
    expect(listed.map((d) => d.dag_id)).toEqual(['cjs_project_js', 'cjs_project_ts']);
    // `dags test` runs the task in the command's own process: the file is imported there too.
    const test = await h.run(['dags', 'test', 'cjs_project_ts', '2025-04-09', '--output', 'json'], { env, timeoutMs: 120_000 });
    expect(test.code, test.stderr).toBe(0);
    expect(JSON.parse(test.stdout)).toMatchObject({ dag_id: 'cjs_project_ts', state: 'success' });
  });
});
