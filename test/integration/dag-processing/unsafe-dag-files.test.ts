/**
 * DAG files are user code: one that hangs, never settles, exits or throws is imported in a child
 * process and becomes an import error for that file only — this process (the test runner, standing
 * in for a scheduler, worker or CLI) keeps running and the other files load.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDagFiles } from '../../../src/dag-processing/child/dag-file-parser.ts';
import { DagBag } from '../../../src/dag-processing/dag-bag.ts';
import { listDagFiles } from '../../../src/dag-processing/dag-file-finder.ts';

const FOLDER = fileURLToPath(new URL('../../fixtures/unsafe-dags', import.meta.url));
const TIMEOUT_MS = 2_000;

describe('unsafe DAG files', { timeout: 120_000 }, () => {
  it('turn each of: endless loop, never-settling await, process.exit, throw, bad argument into that file’s import error', async () => {
    const files = await listDagFiles(FOLDER);
    const results = await parseDagFiles(files, { timeoutMs: TIMEOUT_MS, folder: FOLDER });
    const by = Object.fromEntries(results.map((r) => [r.file.slice(FOLDER.length + 1), r]));
    expect(Object.keys(by).sort()).toEqual(['bad_retry_delay.ts', 'exits.ts', 'good.ts', 'hangs.ts', 'never_settles.ts', 'throws.ts']);

    expect(by['good.ts'].error).toBeUndefined();
    expect(by['good.ts'].dags.map((d) => d.dag_id)).toEqual(['unsafe_neighbour_ok']);
    expect(by['good.ts'].dags[0]).toMatchObject({ relative_fileloc: 'good.ts', fileloc: join(FOLDER, 'good.ts') });

    expect(by['hangs.ts'].failure).toBe('timeout');
    // Where it hangs, source-mapped to the TypeScript line (as Airflow's timeout traceback shows).
    expect(by['hangs.ts'].error?.message).toContain(
      'DAG file import timed out after 2 s (dagbag_import_timeout): it was still running line 5 (`while (true) {}`)',
    );
    expect(by['hangs.ts'].error?.message).toContain(`(${join(FOLDER, 'hangs.ts')}:5)`);
    expect(by['hangs.ts'].error?.line).toBe(5);

    expect(by['never_settles.ts'].failure).toBe('exit');
    expect(by['never_settles.ts'].error?.message).toContain('never finished: a top-level await in it waits on a promise that can never settle');

    expect(by['exits.ts'].error?.message).toContain('The DAG file called process.exit(3) while being imported');
    expect(by['exits.ts'].error?.line).toBe(5);

    expect(by['throws.ts'].error?.message).toBe(`config.yaml not found (${join(FOLDER, 'throws.ts')}:5)`);
    expect(by['throws.ts'].error?.line).toBe(5);

    expect(by['bad_retry_delay.ts'].error?.message).toContain(`DAG 'unsafe_bad_retry_delay': defaultArgs.retry_delay: Invalid duration "soon"`);
    expect(by['bad_retry_delay.ts'].error?.line).toBe(4);

    // Only the DAG file's own frames: none of deferflow's loader, tsx or Node internals.
    for (const r of results) {
      if (!r.error) continue;
      expect(r.error.stack, r.file).not.toMatch(/src\/dag-processing|node_modules|node:internal|\(node:/);
      expect(r.error.message, r.file).toContain(r.file);
    }
  });

  it('DagBag.load lists the good DAGs and the errors, recording nothing', async () => {
    const bag = await DagBag.load(FOLDER, { importTimeoutMs: TIMEOUT_MS });
    expect([...bag.dags.keys()]).toEqual(['unsafe_neighbour_ok']);
    expect(bag.importErrors.map((e) => e.file.slice(FOLDER.length + 1)).sort()).toEqual([
      'bad_retry_delay.ts',
      'exits.ts',
      'hangs.ts',
      'never_settles.ts',
      'throws.ts',
    ]);
    // The live DAG of the good file, imported here only because a child imported it cleanly.
    const live = await bag.loadDag('unsafe_neighbour_ok');
    expect(live.taskIds).toEqual(['hello']);
    expect(await live.getTask('hello').execute({} as never)).toBe('hi');
  });
});
