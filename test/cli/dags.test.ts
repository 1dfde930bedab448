import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from './cli-harness.ts';

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('dags');
});
afterAll(async () => {
  await h?.close();
});

interface TiRow {
  task_id: string;
  state: string | null;
  execution_date: string;
  run_id: string;
}

describe('deferflow dags', { timeout: 90_000 }, () => {
  it('lists the DAGs of the folder without recording anything; the DAG processor records them', async () => {
    const r = await h.run(['dags', 'list', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { dag_id: 'cli_fan', fileloc: 'fan_out_fan_in.ts', owners: 'airflow', is_paused: false },
      { dag_id: 'cli_simple', fileloc: 'fan_out_fan_in.ts', owners: 'ml-team', is_paused: false },
    ]);
    const db = h.client.db(h.dbName);
    // Only the DAG processor writes DAGs and import errors (issue 12): a listing leaves no trace.
    expect(await db.collection('dags').countDocuments()).toBe(0);
    expect(await db.collection('import_errors').countDocuments()).toBe(0);

    const processed = await h.run(['dag-processor', '--num-runs', '1']);
    expect(processed.code, processed.stderr).toBe(0);
    expect(processed.stderr).toContain('2 DAGs, 1 import errors');
    const ids = (await db.collection('dags').find({}).toArray()).map((d) => d._id).sort();
    expect(ids).toEqual(['cli_fan', 'cli_simple']);
    expect((await db.collection('import_errors').find({}).toArray()).map((e) => String(e._id).split('/').pop())).toEqual(['broken_dag.ts']);
  });

  it('lists import errors with the broken file and exits 1 (as Airflow does)', async () => {
    const r = await h.run(['dags', 'list-import-errors', '--output', 'json']);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as Array<{ filepath: string; error: string }>;
    expect(rows).toHaveLength(1);
    expect(rows[0].filepath).toMatch(/broken_dag\.ts$/);
    expect(rows[0].error).toContain("unknown upstream task 'does_not_exist'");
    const table = await h.run(['dags', 'list-import-errors']);
    expect(table.stdout).toContain('broken_dag.ts');
  });

  it('triggers with -e and shows task states by logical date', async () => {
    const t = await h.run(['dags', 'trigger', 'cli_simple', '-e', '2025-04-09', '--conf', '{"source": "cli"}', '--output', 'json']);
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout)).toMatchObject({
      dag_id: 'cli_simple',
      dag_run_id: 'manual__2025-04-09T00:00:00+00:00',
      logical_date: '2025-04-09T00:00:00+00:00',
      // @daily: a manual run covers the last complete day before the logical date (Airflow 2).
      data_interval_start: '2025-04-08T00:00:00+00:00',
      data_interval_end: '2025-04-09T00:00:00+00:00',
      run_type: 'manual',
      state: 'queued',
      conf: { source: 'cli' },
    });

    const byDate = await h.json<TiRow[]>(['tasks', 'states-for-dag-run', 'cli_simple', '2025-04-09']);
    expect(byDate.map((r) => [r.task_id, r.state])).toEqual([
      ['extract', null],
      ['total', null],
    ]);
    expect(byDate[0]).toMatchObject({ execution_date: '2025-04-09T00:00:00+00:00', run_id: 'manual__2025-04-09T00:00:00+00:00' });
    const byRunId = await h.json<TiRow[]>(['tasks', 'states-for-dag-run', 'cli_simple', 'manual__2025-04-09T00:00:00+00:00']);
    expect(byRunId).toEqual(byDate);

    const table = await h.run(['tasks', 'states-for-dag-run', 'cli_simple', '2025-04-09']);
    expect(table.stdout).toMatch(/dag_id.*execution_date.*task_id.*state.*start_date.*end_date/);

    expect((await h.run(['dags', 'state', 'cli_simple', '2025-04-09'])).stdout.trim()).toBe('queued, {"source":"cli"}');
    expect((await h.run(['tasks', 'state', 'cli_simple', 'extract', '2025-04-09'])).stdout.trim()).toBe('None');

    const dup = await h.run(['dags', 'trigger', 'cli_simple', '-e', '2025-04-09']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('Error [DAG_RUN_EXISTS]');
  });

  it('pauses and unpauses', async () => {
    expect((await h.run(['dags', 'pause', 'cli_fan'])).stdout.trim()).toBe('Dag: cli_fan, paused: true');
    const listed = await h.json<Array<{ dag_id: string; is_paused: boolean }>>(['dags', 'list']);
    expect(listed.find((d) => d.dag_id === 'cli_fan')?.is_paused).toBe(true);
    expect((await h.run(['dags', 'unpause', 'cli_fan'])).stdout.trim()).toBe('Dag: cli_fan, paused: false');
  });

  it('shows the graph and lists tasks', async () => {
    const show = await h.json<{ tasks: Array<{ task_id: string; downstream_task_ids: string[] }> }>(['dags', 'show', 'cli_fan']);
    expect(show.tasks.find((t) => t.task_id === 'start')?.downstream_task_ids).toEqual(['doomed', 'flaky', 'ok_1', 'ok_2']);
    const dot = await h.run(['dags', 'show', 'cli_fan']);
    expect(dot.stdout).toContain('digraph "cli_fan"');
    expect(dot.stdout).toContain('"doomed" -> "after_doomed";');
    const tasks = await h.run(['tasks', 'list', 'cli_simple']);
    expect(tasks.stdout.trim().split('\n')).toEqual(['extract', 'total']);
    const tree = await h.run(['tasks', 'list', 'cli_simple', '--tree']);
    expect(tree.stdout).toContain('<Task(@task): extract>\n    <Task(@task): total>');
  });

  it('rejects bad input with what to fix', async () => {
    const badDate = await h.run(['dags', 'trigger', 'cli_simple', '-e', '09/04/2025']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--exec-date: "09/04/2025" is not a date: use 2025-04-09 or 2025-04-09T12:00:00Z');
    const badConf = await h.run(['dags', 'trigger', 'cli_simple', '--conf', '[1]']);
    expect(badConf.code).toBe(2);
    expect(badConf.stderr).toContain('--conf: must be a JSON object');
    const unknown = await h.run(['dags', 'trigger', 'no_such_dag']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Error [DAG_NOT_FOUND]: DAG 'no_such_dag' not found");
    expect(unknown.stderr).toContain('broken_dag.ts');
    const noRun = await h.run(['tasks', 'states-for-dag-run', 'cli_simple', '2030-01-01']);
    expect(noRun.code).toBe(1);
    expect(noRun.stderr).toContain('DAG_RUN_NOT_FOUND');
    const badFormat = await h.run(['dags', 'list', '--output', 'yaml']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('Allowed choices are table, json, plain');
  });
});
