/**
 * Issue 12's DAG processor, end to end in one running stack (Runtime with a DAGs folder: DAG
 * processor, scheduler and worker in this process, DAG files imported only in child processes or
 * after a child imported them cleanly):
 *  - a DAG file added while the stack runs is picked up within one rescan and runs;
 *  - an edit is a new version: the next run records it and runs the new code;
 *  - files that hang, never settle, exit or throw are import errors while the other DAGs run;
 *  - a run whose DAG no scheduler can load is flagged on the run, and unflagged when it loads;
 *  - a DAG callback runs (in a child process: the scheduler never imports DAG files).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.ts';
import { Runtime } from '../../../src/runtime/runtime.ts';
import type { DagRunDoc } from '../../../src/store/schema.ts';
import { Store } from '../../../src/store/store.ts';
import { DagRunTransitions } from '../../../src/store/transitions/dag-run-transitions.ts';
import { poller } from '../../support/wait-for.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const SRC = join(ROOT, 'src/dag/index.ts');
const UNSAFE = join(ROOT, 'test/fixtures/unsafe-dags');
const MONGODB_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';
/** One rescan: generous for a loaded machine, far below what a test timeout allows. */
const RESCAN_MS = 1_000;
const waitFor = poller({ timeoutMs: 60_000, intervalMs: 50 });

let store: Store;
let rt: Runtime;
let folder: string;
let markers: string;
let runs: DagRunTransitions;
let seq = 0;

function helloFile(dagId: string, value: string): string {
  return `import { DAG, task } from ${JSON.stringify(SRC)};\nexport default new DAG({ dagId: '${dagId}' }, () => {\n  task('say', () => ${JSON.stringify(value)});\n});\n`;
}

async function trigger(dagId: string): Promise<DagRunDoc> {
  seq += 1;
  const when = new Date(Date.UTC(2025, 0, 1, 0, 0, seq));
  return runs.create({ dagId, runId: `live_${seq}`, runType: 'manual', logicalDate: when, dataInterval: { start: when, end: when } });
}

function finished(run: DagRunDoc): Promise<DagRunDoc> {
  return waitFor(`run ${run._id} to finish`, async () => {
    const r = await store.dagRuns.findOne({ _id: run._id });
    return r && (r.state === 'success' || r.state === 'failed') ? r : null;
  });
}

async function returnValue(run: DagRunDoc, taskId = 'say'): Promise<unknown> {
  const x = await store.xcom.findOne({ dag_id: run.dag_id, run_id: run.run_id, task_id: taskId, key: 'return_value' });
  return x ? JSON.parse(x.value) : undefined;
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'deferflow-live-'));
  markers = await mkdtemp(join(tmpdir(), 'deferflow-live-markers-'));
  // The unsafe fixtures next to a good DAG, importing deferflow by absolute path from the temp folder.
  for (const f of ['good.ts', 'hangs.ts', 'never_settles.ts', 'exits.ts', 'throws.ts']) {
    await copyFile(join(UNSAFE, f), join(folder, f));
    const text = await readFile(join(folder, f), 'utf8');
    await writeFile(join(folder, f), text.replace("'../../../src/dag/index.ts'", JSON.stringify(SRC)));
  }
  store = await Store.connect({ uri: MONGODB_URI, dbName: `deferflow_test_live_${randomBytes(4).toString('hex')}` });
  runs = new DagRunTransitions(store);
  rt = await Runtime.create({
    store,
    dagsFolder: folder,
    dagProcessing: { importTimeoutMs: 3_000, dirListIntervalMs: RESCAN_MS, minFileProcessIntervalMs: RESCAN_MS },
    logger: createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'warn', format: 'json' }),
    components: { scheduler: { loopIntervalMs: 100 }, worker: { pollIntervalMs: 50, slots: 4 }, triggerer: false },
    pollChangesMs: null,
  });
  await rt.start();
}, 120_000);

afterAll(async () => {
  await rt?.stop();
  await store?.dropDatabase().catch(() => undefined);
  await store?.close();
  for (const d of [folder, markers]) if (d) await rm(d, { recursive: true, force: true });
});

describe('a running stack and its DAGs folder', { timeout: 180_000 }, () => {
  it('records unsafe files as import errors while the other DAGs load and run', async () => {
    // The stack started without waiting out the hanging file's timeout; its error comes after.
    await waitFor('the good DAG', () => rt.dagBag.getDag('unsafe_neighbour_ok'));
    expect([...rt.dagBag.dags.keys()]).toEqual(['unsafe_neighbour_ok']);
    const errors = await waitFor('all four import errors', async () => {
      const rows = await store.importErrors.find({}).sort({ _id: 1 }).toArray();
      return rows.length === 4 ? rows : null;
    });
    expect(errors.map((e) => e._id.slice(folder.length + 1))).toEqual(['exits.ts', 'hangs.ts', 'never_settles.ts', 'throws.ts']);
    const messages = errors.map((e) => e.message ?? '');
    expect(messages[0]).toMatch(/^The DAG file called process\.exit\(3\) while being imported; .*exits\.ts:5\)$/);
    expect(messages[1]).toMatch(/^DAG file import timed out after 3 s \(dagbag_import_timeout\)/);
    expect(messages[2]).toMatch(/^Importing .*never_settles\.ts never finished/);
    expect(messages[3]).toBe(`config.yaml not found (${join(folder, 'throws.ts')}:5)`);
    const run = await finished(await trigger('unsafe_neighbour_ok'));
    expect(run.state).toBe('success');
    expect(await returnValue(run, 'hello')).toBe('hi');
  });

  it('picks up a DAG file added while it runs within one rescan, and runs it', async () => {
    const t0 = Date.now();
    await writeFile(join(folder, 'hello_live.ts'), helloFile('hello_live', 'v1'));
    await waitFor('the new DAG to be scheduled', () => rt.dagBag.getDag('hello_live'));
    // Informational (no timing assertion): how long "within one rescan" took on this machine.
    console.info(`hello_live picked up after ${Date.now() - t0} ms (rescan interval ${RESCAN_MS} ms)`);
    const run = await finished(await trigger('hello_live'));
    expect(run.state).toBe('success');
    expect(await returnValue(run)).toBe('v1');
    expect(run.dag_version).toBe(rt.dagBag.versionOf('hello_live'));
  });

  it('runs an edited DAG in its new version, recorded on the run', async () => {
    const before = rt.dagBag.versionOf('hello_live');
    expect(before).toBeDefined();
    await writeFile(join(folder, 'hello_live.ts'), helloFile('hello_live', 'v2'));
    const after = await waitFor('the new version', () => {
      const v = rt.dagBag.versionOf('hello_live');
      return v !== before ? v : null;
    });
    const run = await finished(await trigger('hello_live'));
    expect(run.state).toBe('success');
    expect(run.dag_version).toBe(after);
    expect(await returnValue(run)).toBe('v2');
    const earlier = await store.dagRuns.findOne({ dag_id: 'hello_live', dag_version: before });
    expect(earlier?.state).toBe('success');
    expect((await store.dagVersions.find({ dag_id: 'hello_live' }).toArray()).length).toBe(2);
  });

  it('flags a run whose DAG no scheduler can load, and unflags it once the DAG file appears', async () => {
    const run = await trigger('appears_later');
    const flagged = await waitFor('the run to be flagged', async () => {
      const r = await store.dagRuns.findOne({ _id: run._id });
      return r?.dag_load_error ? r : null;
    });
    expect(flagged.state).toBe('queued');
    expect(flagged.dag_load_error).toContain("DAG 'appears_later' is not defined by any DAG file the DAG processor has parsed");
    expect(flagged.dag_load_error).toContain('4 DAG file(s) fail to import');
    await writeFile(join(folder, 'appears_later.ts'), helloFile('appears_later', 'here'));
    const done = await finished(run);
    expect(done.state).toBe('success');
    expect(done.dag_load_error ?? null).toBeNull();

    // Deleted: its DAG is deactivated, and a run of it says so.
    await unlink(join(folder, 'appears_later.ts'));
    await waitFor('the DAG to be deactivated', async () => (await store.dags.findOne({ _id: 'appears_later' }))?.is_active === false);
    const orphan = await trigger('appears_later');
    const why = await waitFor('the orphan run to be flagged', async () => (await store.dagRuns.findOne({ _id: orphan._id }))?.dag_load_error);
    expect(why).toBe(`DAG 'appears_later' is no longer defined in ${join(folder, 'appears_later.ts')} (the file was deleted or the DAG removed from it)`);
  });

  it('runs a DAG callback in a child process', async () => {
    const marker = join(markers, 'failure-callback.json');
    await writeFile(
      join(folder, 'with_callback.ts'),
      [
        `import { writeFileSync } from 'node:fs';`,
        `import { DAG, task } from ${JSON.stringify(SRC)};`,
        `export default new DAG({ dagId: 'with_callback', onFailureCallback: (info) => writeFileSync(${JSON.stringify(marker)}, JSON.stringify({ ...info, pid: process.pid })) }, () => {`,
        `  task('boom', () => { throw new Error('boom'); });`,
        `});`,
        '',
      ].join('\n'),
    );
    await waitFor('the callback DAG', () => rt.dagBag.getDag('with_callback'));
    const run = await finished(await trigger('with_callback'));
    expect(run.state).toBe('failed');
    const info = JSON.parse(await waitFor('the callback to run', () => readFile(marker, 'utf8').catch(() => null))) as Record<string, unknown>;
    expect(info).toMatchObject({ dagId: 'with_callback', runId: run.run_id, state: 'failed' });
    expect(info.pid).not.toBe(process.pid);
  });
});
