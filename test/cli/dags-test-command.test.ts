import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from './cli-harness.ts';

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('dagtest');
});
afterAll(async () => {
  await h?.close();
});

interface RunJson {
  dag_id: string;
  run_id: string;
  state: string;
  task_instances: Array<{ task_id: string; state: string | null; try_number: number; duration: number | null }>;
}

describe('deferflow dags test', { timeout: 90_000 }, () => {
  it('runs fan-out, fan-in, a recovering retry and a failing branch to the states Airflow would give, exit 1', async () => {
    const r = await h.run(['dags', 'test', 'cli_fan', '2025-04-09', '--output', 'json']);
    expect(r.code, r.stderr).toBe(1);
    const run = JSON.parse(r.stdout) as RunJson;
    expect(run).toMatchObject({ dag_id: 'cli_fan', run_id: 'manual__2025-04-09T00:00:00+00:00', state: 'failed' });
    const byTask = Object.fromEntries(run.task_instances.map((t) => [t.task_id, [t.state, t.try_number]]));
    expect(byTask).toEqual({
      start: ['success', 1],
      ok_1: ['success', 1],
      ok_2: ['success', 1],
      flaky: ['success', 2], // failed its first try, retried, recovered
      doomed: ['failed', 2], // one retry, then failed for good
      join: ['success', 1], // fan-in of the branches that succeeded
      after_doomed: ['upstream_failed', 0],
      cleanup: ['success', 1], // all_done runs whatever happened upstream
    });
    // Progress went to stderr as one line per change (no terminal), stdout kept for the JSON.
    // Every transition is shown (the in-process bus feeds the view), in causal order per task.
    const flaky = r.stderr
      .split('\n')
      .filter((l) => l.includes('] flaky: '))
      .map((l) => l.replace(/^\[[\d:]+\] /, ''));
    expect(flaky).toEqual([
      'flaky: none → queued (try 0/2)',
      'flaky: queued → running (try 1/2)',
      'flaky: running → up_for_retry (try 1/2) — transient failure on the first try',
      'flaky: up_for_retry → scheduled (try 1/2)',
      'flaky: scheduled → queued (try 1/2)',
      'flaky: queued → running (try 2/2)',
      'flaky: running → success (try 2/2)',
    ]);
    expect(r.stderr).toContain('doomed: running → failed (try 2/2) — this branch always fails');
    expect(r.stderr).toMatch(/run manual__2025-04-09T00:00:00\+00:00: running → failed/);
  });

  it('exits 0 on success, prints the final table, and leaves the configured database untouched', async () => {
    const r = await h.run(['dags', 'test', 'cli_simple', '2025-04-10']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/│ extract +│ success +│ 1 +│/);
    expect(r.stdout).toMatch(/│ total +│ success +│ 1 +│/);
    expect(r.stdout).toContain('DAG run manual__2025-04-10T00:00:00+00:00 of cli_simple: success');
    // The run happened in a scratch database that was dropped afterwards.
    expect(await h.client.db(h.dbName).collection('dag_runs').countDocuments()).toBe(0);
    const dbs = (await h.client.db().admin().listDatabases()).databases.map((d) => d.name);
    expect(dbs.filter((n) => n.startsWith(`${h.dbName}_dagtest`))).toEqual([]);
  });

  it('says what to fix for a bad date or conf', async () => {
    const r = await h.run(['dags', 'test', 'cli_simple', 'yesterday', '--conf', '{']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('EXECUTION_DATE: "yesterday" is not a date');
    expect(r.stderr).toContain('--conf: is not valid JSON');
  });
});
