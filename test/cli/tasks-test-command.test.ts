import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from './cli-harness.ts';

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('tasktest');
});
afterAll(async () => {
  await h?.close();
});

interface TaskTestJson {
  task_id: string;
  state: string;
  try_number: number;
  return_value: unknown;
  error: string | null;
  log: Array<{ level: string; msg: string }>;
}

describe('deferflow tasks test', { timeout: 90_000 }, () => {
  it('runs one task with its template context, prints its log and return value', async () => {
    const r = await h.run(['tasks', 'test', 'cli_simple', 'extract', '2025-04-09']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('INFO - extracting rows for 2025-04-09');
    expect(r.stdout).toContain('Return value: [1,2,3]');
    expect(r.stdout).toContain('Task extract: success');
  });

  it('ignores dependencies, runs a single try, and exits 1 when it fails', async () => {
    // `doomed` depends on `start` and has a retry left: tasks test runs it anyway, once.
    const r = await h.run(['tasks', 'test', 'cli_fan', 'doomed', '2025-04-09', '--output', 'json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as TaskTestJson;
    expect(out).toMatchObject({ task_id: 'doomed', state: 'failed', try_number: 1, error: 'this branch always fails', return_value: null });
    expect(out.log.some((l) => l.level === 'error' && l.msg.includes('this branch always fails'))).toBe(true);
    // Nothing was recorded in the configured database.
    expect(await h.client.db(h.dbName).collection('task_instances').countDocuments()).toBe(0);
  });

  it('names an unknown task and lists the ones that exist', async () => {
    const r = await h.run(['tasks', 'test', 'cli_simple', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Error [TASK_NOT_FOUND]: Task 'nope' not found in DAG 'cli_simple'");
    expect(r.stderr).toContain('Hint: The DAG has: extract, total');
  });
});
