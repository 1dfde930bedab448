/**
 * Airflow's everyday dags verbs from the real executable on the test server: `dags list-runs`,
 * `details`, `next-execution`, `delete`, and DAG order / `+00:00` timestamps in what they print.
 * Task states are driven through the real transitions (test/api/helpers.ts Driver).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { XComRepository } from '../../src/store/repositories/xcom-repository.ts';
import { Driver } from '../api/helpers.ts';
import { createCliHarness, type CliHarness } from './cli-harness.ts';

let h: CliHarness;
let store: Store;
beforeAll(async () => {
  h = await createCliHarness('dagsverbs');
  store = await Store.connect({ uri: h.uri });
  const recorded = await h.run(['dag-processor', '--num-runs', '1']);
  if (recorded.code !== 0) throw new Error(recorded.stderr);
});
afterAll(async () => {
  await store?.close();
  await h?.close();
});

interface RunRow {
  dag_id: string;
  run_id: string;
  state: string;
  execution_date: string;
  start_date: string | null;
  end_date: string | null;
  run_type: string;
}

const day = 86_400_000;
const isoDay = (ms: number): string => `${new Date(ms).toISOString().slice(0, 10)}T00:00:00+00:00`;

describe('deferflow dags list-runs', { timeout: 120_000 }, () => {
  it("lists a DAG's runs newest first with Airflow's columns, filtered by state, dates and run type", async () => {
    for (const [date, runId] of [
      ['2025-04-09', 'first'],
      ['2025-04-11', 'third'],
      ['2025-04-10', 'second'],
    ]) {
      const t = await h.run(['dags', 'trigger', 'cli_simple', '-e', date, '--run-id', runId]);
      expect(t.code, t.stderr).toBe(0);
    }
    // A backfill run, as a backfill would record it.
    const doc = (await store.dags.findOne({ _id: 'cli_simple' }))!;
    const d = new Driver(store);
    await d.runs.create({
      dagId: 'cli_simple',
      runId: 'backfill__2025-04-01T00:00:00+00:00',
      runType: 'backfill',
      logicalDate: new Date('2025-04-01T00:00:00Z'),
      dataInterval: { start: new Date('2025-04-01T00:00:00Z'), end: new Date('2025-04-02T00:00:00Z') },
      conf: {},
    });
    await d.runs.start((await store.dagRuns.findOne({ run_id: 'second' }))!._id);
    expect(doc.tasks.map((t) => t.task_id)).toEqual(['extract', 'total']);

    const all = await h.json<RunRow[]>(['dags', 'list-runs', '-d', 'cli_simple']);
    expect(all.map((r) => r.run_id)).toEqual(['third', 'second', 'first', 'backfill__2025-04-01T00:00:00+00:00']);
    expect(all[0]).toMatchObject({ dag_id: 'cli_simple', state: 'queued', execution_date: '2025-04-11T00:00:00+00:00', start_date: null, run_type: 'manual' });
    expect(all[1].start_date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);

    expect((await h.json<RunRow[]>(['dags', 'list-runs', '-d', 'cli_simple', '--no-backfill'])).map((r) => r.run_id)).toEqual(['third', 'second', 'first']);
    expect((await h.json<RunRow[]>(['dags', 'list-runs', '-d', 'cli_simple', '--state', 'running'])).map((r) => r.run_id)).toEqual(['second']);
    const window = await h.json<RunRow[]>(['dags', 'list-runs', '-d', 'cli_simple', '--start-date', '2025-04-10', '--end-date', '2025-04-11']);
    expect(window.map((r) => r.run_id)).toEqual(['third', 'second']);
    // Airflow 3's positional DAG id works too.
    expect((await h.json<RunRow[]>(['dags', 'list-runs', 'cli_simple', '--state', 'running'])).map((r) => r.run_id)).toEqual(['second']);

    const table = await h.run(['dags', 'list-runs', '-d', 'cli_simple', '--state', 'running']);
    expect(table.stdout).toMatch(/dag_id.*run_id.*state.*execution_date.*start_date.*end_date/);
    expect(table.stdout).toContain('2025-04-10T00:00:00+00:00');
    expect(table.stdout).not.toMatch(/\.000Z/);
    const plain = await h.run(['dags', 'list-runs', '-d', 'cli_simple', '--state', 'running', '-o', 'plain']);
    expect(plain.stdout.split('\n')[1]).toMatch(/^cli_simple\tsecond\trunning\t2025-04-10T00:00:00\+00:00\t/);
    expect((await h.run(['dags', 'list-runs', '-d', 'cli_fan'])).stdout.trim()).toBe('No data found');
  });

  it('says what to fix', async () => {
    const noDag = await h.run(['dags', 'list-runs']);
    expect(noDag.code).toBe(2);
    expect(noDag.stderr).toContain('-d/--dag-id');
    const badState = await h.run(['dags', 'list-runs', '-d', 'cli_simple', '--state', 'done']);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toContain('--state: must be one of queued, running, success, failed');
    const badDate = await h.run(['dags', 'list-runs', '-d', 'cli_simple', '--start-date', 'yesterday']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--start-date: "yesterday" is not a date');
    const backwards = await h.run(['dags', 'list-runs', '-d', 'cli_simple', '-s', '2025-05-01', '-e', '2025-04-01']);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('--end-date: is before --start-date');
    const unknown = await h.run(['dags', 'list-runs', '-d', 'nope', '-o', 'json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ error: { code: 'DAG_NOT_FOUND' } });
  });
});

describe('deferflow dags details / next-execution', { timeout: 120_000 }, () => {
  it('shows the recorded DAG, one property per row (json: a list of one object)', async () => {
    const [details] = await h.json<Array<Record<string, unknown>>>(['dags', 'details', 'cli_simple']);
    expect(details).toMatchObject({
      dag_id: 'cli_simple',
      is_paused: false,
      is_active: true,
      owners: ['ml-team'],
      schedule_interval: '@daily',
      timetable_description: 'At 00:00 UTC daily',
      start_date: '2025-04-01T00:00:00+00:00',
      has_import_errors: false,
      task_ids: ['extract', 'total'],
    });
    expect(details.fileloc).toMatch(/fan_out_fan_in\.ts$/);
    expect(details.last_parsed_time).toMatch(/\+00:00$/);
    const table = await h.run(['dags', 'details', 'cli_simple']);
    expect(table.stdout).toMatch(/property_name.*property_value/);
    expect(table.stdout).toMatch(/timetable_description\s*│ At 00:00 UTC daily/);
    const plain = await h.run(['dags', 'details', 'cli_simple', '-o', 'plain']);
    expect(plain.stdout).toContain('schedule_interval\t@daily');
    const missing = await h.run(['dags', 'details', 'no_such_dag']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('DAG_NOT_FOUND');
    const bad = await h.run(['dags', 'details', 'bad id!']);
    expect(bad.code).toBe(2);
  });

  it("prints the next scheduled runs' logical dates, as the scheduler will create them", async () => {
    // cli_simple: @daily, no catchup, never scheduled → the latest complete day, then the next ones.
    const before = Date.now();
    const r = await h.run(['dags', 'next-execution', 'cli_simple', '-n', '3']);
    const after = Date.now();
    expect(r.code, r.stderr).toBe(0);
    const expected = (now: number) => {
      const today = Math.floor(now / day) * day;
      return [isoDay(today - day), isoDay(today), isoDay(today + day)].join('\n');
    };
    expect([expected(before), expected(after)]).toContain(r.stdout.trim());
    const json = await h.json<Array<{ logical_date: string; data_interval_end: string; run_after: string }>>(['dags', 'next-execution', 'cli_simple']);
    expect(json).toHaveLength(1);
    expect(json[0].run_after).toBe(json[0].data_interval_end);

    await h.run(['dags', 'pause', 'cli_simple']);
    const paused = await h.run(['dags', 'next-execution', 'cli_simple']);
    expect(paused.stderr).toContain('[INFO] Please be reminded this DAG is PAUSED now.');
    await h.run(['dags', 'unpause', 'cli_simple']);

    // No schedule: Airflow prints None and says why on stderr.
    const none = await h.run(['dags', 'next-execution', 'cli_fan', '-n', '2']);
    expect(none.code).toBe(0);
    expect(none.stdout.trim().split('\n')).toEqual(['None', 'None']);
    expect(none.stderr).toContain('[WARN] No following schedule can be found');
    const badN = await h.run(['dags', 'next-execution', 'cli_simple', '-n', '0']);
    expect(badN.code).toBe(2);
    expect(badN.stderr).toContain('--num-executions must be at least 1');
  });
});

describe('DAG order and logs', { timeout: 120_000 }, () => {
  it('prints tasks in DAG order (upstream first), not alphabetically', async () => {
    const dagOrder = ['start', 'ok_1', 'ok_2', 'flaky', 'doomed', 'join', 'after_doomed', 'cleanup'];
    expect((await h.run(['tasks', 'list', 'cli_fan'])).stdout.trim().split('\n')).toEqual(dagOrder);
    expect((await h.run(['dags', 'trigger', 'cli_fan', '-e', '2025-04-09'])).code).toBe(0);
    const states = await h.json<Array<{ task_id: string }>>(['tasks', 'states-for-dag-run', 'cli_fan', '2025-04-09']);
    expect(states.map((s) => s.task_id)).toEqual(dagOrder);
  });

  it('`tasks logs --try N` for a try that never ran is an error', async () => {
    const d = new Driver(store);
    const ti = await d.run('cli_fan', 'manual__2025-04-09T00:00:00+00:00', 'start');
    await d.log(ti, 1, ['hello from try 1']);
    const ok = await h.run(['tasks', 'logs', 'cli_fan', '2025-04-09', 'start', '--try', '1']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00\] INFO - hello from try 1$/m);
    const never = await h.run(['tasks', 'logs', 'cli_fan', '2025-04-09', 'start', '--try', '2']);
    expect(never.code).toBe(1);
    expect(never.stderr).toContain('Try 2 of cli_fan.start (run manual__2025-04-09T00:00:00+00:00) never ran: it has run 1 time(s)');
    expect(never.stderr).toContain('Hint: Give --try 1 to 1');
    const notStarted = await h.run(['tasks', 'logs', 'cli_fan', '2025-04-09', 'join', '--try', '1']);
    expect(notStarted.code).toBe(1);
    expect(notStarted.stderr).toContain('no try has started yet');
  });
});

describe('deferflow dags delete', { timeout: 120_000 }, () => {
  it('asks, refuses while a task runs, then deletes every record of the DAG and says its file remains', async () => {
    const noTty = await h.run(['dags', 'delete', 'cli_simple']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('Hint: Pass --yes to delete without asking.');

    const d = new Driver(store);
    const running = await d.start('cli_simple', 'first', 'extract');
    const refused = await h.run(['dags', 'delete', 'cli_simple', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Error [STATE_CONFLICT]');
    expect(refused.stderr).toContain('extract in first');
    await d.finish(running);
    await new XComRepository(store).push(running, 'return_value', [1, 2, 3]);
    await d.log(running, 1, ['a', 'b']);

    const runs = await store.dagRuns.countDocuments({ dag_id: 'cli_simple' });
    const tis = await store.taskInstances.countDocuments({ dag_id: 'cli_simple' });
    const deleted = await h.json<{ dag_id: string; deleted: Record<string, number> }>(['dags', 'delete', 'cli_simple', '--yes']);
    expect(deleted).toEqual({
      message: expect.stringContaining('Removed'),
      dag_id: 'cli_simple',
      deleted: { dag: 1, dag_runs: runs, task_instances: tis, xcom: 1, task_logs: 2, triggers: 0 },
    });
    for (const c of ['dags', 'dag_runs', 'task_instances', 'xcom', 'task_logs', 'dag_versions']) {
      expect(await h.client.db(h.dbName).collection(c).countDocuments({ dag_id: 'cli_simple' }), c).toBe(0);
    }
    // The other DAG of the same file is untouched.
    expect(await store.dagRuns.countDocuments({ dag_id: 'cli_fan' })).toBe(1);

    const gone = await h.run(['dags', 'details', 'cli_simple']);
    expect(gone.code).toBe(1);
    const again = await h.run(['dags', 'delete', 'cli_simple', '--yes']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Error [DAG_NOT_FOUND]: Dag id cli_simple not found');

    // Airflow's behaviour: while its file still defines it, the DAG processor records it again.
    const fileloc = (await store.dags.findOne({ _id: 'cli_fan' }))!.fileloc;
    expect(existsSync(fileloc)).toBe(true);
    const table = await h.run(['dags', 'delete', 'cli_fan', '--yes']);
    expect(table.stdout).toMatch(/^Removed \d+ record\(s\) of DAG cli_fan: the DAG, 1 DAG run\(s\)/);
    expect(table.stderr).toContain('still exists');
    expect(table.stderr).toContain('records the DAG again at its next parse');
    expect((await h.run(['dag-processor', '--num-runs', '1'])).code).toBe(0);
    const [back] = await h.json<Array<{ dag_id: string; is_active: boolean }>>(['dags', 'details', 'cli_fan']);
    expect(back).toMatchObject({ dag_id: 'cli_fan', is_active: true });
    expect((await h.run(['dags', 'list-runs', '-d', 'cli_fan'])).stdout.trim()).toBe('No data found');
  });
});
