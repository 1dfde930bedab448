import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from './cli-harness.ts';
import { poller } from '../support/wait-for.ts';

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('processes');
});
afterAll(async () => {
  await h?.close();
});

const waitFor = poller({ timeoutMs: 30_000, intervalMs: 100 });

describe('scheduler + worker processes, then tasks logs / clear', { timeout: 90_000 }, () => {
  it('runs a triggered run to success in separate processes, shows the logs, and clears a task', async () => {
    expect((await h.run(['dags', 'trigger', 'cli_simple', '-e', '2025-04-09'])).code).toBe(0);
    const scheduler = h.start(['scheduler']);
    const worker = h.start(['worker', '--slots', '4']);
    const runs = h.client.db(h.dbName).collection('dag_runs');
    const run = await waitFor('the run to succeed', async () => {
      const r = await runs.findOne({ dag_id: 'cli_simple', run_id: 'manual__2025-04-09T00:00:00+00:00' });
      return r?.state === 'success' ? r : null;
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n--- scheduler:\n${scheduler.output()}\n--- worker:\n${worker.output()}`);
    });
    expect(run.state).toBe('success');
    // SIGTERM stops both cleanly (exit 0) — and nothing re-runs the task we clear below.
    expect(await scheduler.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
    expect(scheduler.output()).toContain('deferflow scheduler');
    expect(worker.output()).toContain('running with 4 slots');

    const states = await h.json<Array<{ task_id: string; state: string; try_number: number }>>(['tasks', 'states-for-dag-run', 'cli_simple', '2025-04-09']);
    expect(states.map((s) => [s.task_id, s.state, s.try_number])).toEqual([
      ['extract', 'success', 1],
      ['total', 'success', 1],
    ]);
    expect((await h.run(['dags', 'state', 'cli_simple', '2025-04-09'])).stdout.trim()).toBe('success');

    const logs = await h.run(['tasks', 'logs', 'cli_simple', '2025-04-09', 'extract']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/\] INFO - extracting rows for 2025-04-09/);

    const noTty = await h.run(['tasks', 'clear', 'cli_simple', '-t', '^extract$']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('Hint: Pass --yes to clear without asking.');

    const cleared = await h.json<{ cleared: number; task_instances: Array<{ task_id: string; previous_state: string }> }>([
      'tasks',
      'clear',
      'cli_simple',
      '-t',
      '^extract$',
      '-s',
      '2025-04-09',
      '-e',
      '2025-04-09',
      '--downstream',
      '--yes',
    ]);
    expect(cleared.cleared).toBe(2);
    expect(cleared.task_instances.map((t) => t.task_id).sort()).toEqual(['extract', 'total']);
    expect((await h.run(['tasks', 'state', 'cli_simple', 'extract', '2025-04-09'])).stdout.trim()).toBe('None');
    // The run is queued again for the scheduler to pick up, as Airflow's clear does.
    expect((await h.run(['dags', 'state', 'cli_simple', '2025-04-09'])).stdout.trim()).toBe('queued');
  });

  it('reports the database and lists no triggers when nothing is deferred', async () => {
    const check = await h.json<{ ok: boolean; database: string; version: string }>(['db', 'check']);
    expect(check).toMatchObject({ ok: true, database: h.dbName });
    const triggers = await h.run(['triggers', 'list']);
    expect(triggers.stdout.trim()).toBe('No triggers: nothing is deferred');
  });

  it('validates process flags', async () => {
    const slots = await h.run(['worker', '--slots', '0']);
    expect(slots.code).toBe(2);
    expect(slots.stderr).toContain('--slots: the worker slot count must be at least 1');
    const queues = await h.run(['worker', '--queues', 'a,,b']);
    expect(queues.code).toBe(2);
    expect(queues.stderr).toContain('--queues: must be queue names separated by commas');
  });
});
