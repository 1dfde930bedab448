/** DagBag over test/fixtures/dags: good files load, broken ones become import errors with file:line. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DagBag, defaultDagsFolder } from '../../../src/dag-processing/dag-bag.ts';
import { listDagFiles } from '../../../src/dag-processing/dag-file-finder.ts';

const FOLDER = fileURLToPath(new URL('../../fixtures/dags', import.meta.url));

describe('DagBag.load', () => {
  it('loads every DAG of the good files, default and named exports, .ts and .mjs, recursively', async () => {
    const bag = await DagBag.load(FOLDER);
    expect([...bag.dags.keys()].sort()).toEqual(['fixture_etl', 'fixture_manual', 'fixture_nested_js']);
    const etl = bag.requireDag('fixture_etl');
    expect(etl.fileloc).toBe(join(FOLDER, 'good_etl.ts'));
    expect(etl.getTask('transform').retries).toBe(2);
    expect(bag.getDag('fixture_nested_js')?.fileloc).toBe(join(FOLDER, 'nested', 'nested_ok.mjs'));
    expect(() => bag.requireDag('nope')).toThrow(expect.objectContaining({ code: 'DAG_NOT_FOUND' }));
  });

  it('turns each broken file into an import error naming file and line, without stopping the others', async () => {
    const bag = await DagBag.load(FOLDER);
    const byFile = Object.fromEntries(bag.importErrors.map((e) => [e.file.slice(FOLDER.length + 1), e]));
    expect(Object.keys(byFile).sort()).toEqual(['bad_schedule.ts', 'broken_syntax.ts', 'cycle.ts', 'duplicate_task.ts', 'nested/unknown_upstream.ts']);
    expect(byFile['duplicate_task.ts'].message).toMatch(/Duplicate taskId 'same'/);
    expect(byFile['duplicate_task.ts'].line).toBe(6);
    expect(byFile['cycle.ts'].message).toMatch(/Cycle detected in DAG 'fixture_cycle'/);
    expect(byFile['cycle.ts'].line).toBe(5);
    expect(byFile['nested/unknown_upstream.ts'].message).toMatch(/unknown upstream task 'nope'/);
    expect(byFile['nested/unknown_upstream.ts'].line).toBe(6);
    expect(byFile['bad_schedule.ts'].message).toMatch(/Invalid schedule "every tuesday"/);
    expect(byFile['bad_schedule.ts'].line).toBe(4);
    expect(byFile['broken_syntax.ts'].line).toBe(5);
    for (const e of bag.importErrors) {
      expect(e.message).toContain(e.file);
      expect(e.stack.length).toBeGreaterThan(0);
    }
  });

  it('skips _-prefixed files, dot and node_modules folders, and files that never mention a DAG', async () => {
    const files = (await listDagFiles(FOLDER)).map((f) => f.slice(FOLDER.length + 1));
    expect(files).not.toContain('_ignored_helper.ts');
    expect(files).not.toContain('not_a_dag_file.ts');
    expect(files).toContain('good_etl.ts');
    expect((await listDagFiles(FOLDER, { safeMode: false })).map((f) => f.slice(FOLDER.length + 1))).toContain('not_a_dag_file.ts');
  });

  it('reads the folder from DEFERFLOW_DAGS_FOLDER, else <cwd>/dags', () => {
    const before = process.env.DEFERFLOW_DAGS_FOLDER;
    try {
      process.env.DEFERFLOW_DAGS_FOLDER = '/srv/dags';
      expect(defaultDagsFolder()).toBe('/srv/dags');
      delete process.env.DEFERFLOW_DAGS_FOLDER;
      expect(defaultDagsFolder()).toBe(join(process.cwd(), 'dags'));
    } finally {
      if (before === undefined) delete process.env.DEFERFLOW_DAGS_FOLDER;
      else process.env.DEFERFLOW_DAGS_FOLDER = before;
    }
  });
});
