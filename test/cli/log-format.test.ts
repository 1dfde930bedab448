/**
 * What a process prints on its console: human lines by default (time, level, component, message),
 * JSON lines with `--log-format json` or DEFERFLOW_LOG_FORMAT=json; a task's lines live in its
 * task log, and only its warnings and errors reach the worker's console — once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness, type RunningCli } from './cli-harness.ts';
import { poller } from '../support/wait-for.ts';

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('log_format');
});
afterAll(async () => {
  await h?.close();
});

const waitFor = poller({ timeoutMs: 60_000, intervalMs: 100 });
const PRETTY_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL)( \([^)]+\))?: /;
const RUN_ID = 'manual__2025-04-09T00:00:00+00:00';

async function untilRunEnds(dagId: string, ...procs: RunningCli[]): Promise<string> {
  const runs = h.client.db(h.dbName).collection('dag_runs');
  const run = await waitFor(`${dagId} to finish`, async () => {
    const r = await runs.findOne({ dag_id: dagId, run_id: RUN_ID });
    return r && (r.state === 'success' || r.state === 'failed') ? r : null;
  }).catch((e: Error) => {
    throw new Error(`${e.message}\n${procs.map((p) => p.output()).join('\n---\n')}`);
  });
  return String(run.state);
}

describe('process console logs', { timeout: 120_000 }, () => {
  it('are human lines by default; task lines stay in the task log, a failing task shows once', async () => {
    expect((await h.run(['dags', 'trigger', 'cli_fan', '-e', '2025-04-09'])).code).toBe(0);
    const env = { DEFERFLOW_LOG_LEVEL: 'info' };
    const scheduler = h.start(['scheduler'], { env });
    const worker = h.start(['worker', '--slots', '4'], { env });
    expect(await untilRunEnds('cli_fan', scheduler, worker)).toBe('failed');
    expect(await worker.stop()).toBe(0);
    expect(await scheduler.stop()).toBe(0);

    const workerLines = worker.output().split('\n').filter(Boolean);
    expect(workerLines.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(workerLines.some((l) => PRETTY_LINE.test(l) && l.includes('(worker): worker started'))).toBe(true);
    // The doomed task's final failure is an error line of its task log: on the console once.
    const failed = workerLines.filter((l) => PRETTY_LINE.test(l) && l.includes('cli_fan.doomed try 2: Marking task as FAILED'));
    expect(failed, worker.output()).toHaveLength(1);
    expect(failed[0]).toMatch(/^\[[\d:.]+\] ERROR /);
    // Info lines of tasks are in their task logs, not on the console.
    expect(worker.output()).not.toContain('Starting try');
    const taskLog = await h.run(['tasks', 'logs', 'cli_fan', '2025-04-09', 'start']);
    expect(taskLog.code, taskLog.stderr).toBe(0);
    expect(taskLog.stdout).toContain('Starting try 1');
    expect(
      scheduler
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{')),
    ).toEqual([]);
  });

  it('are JSON lines with --log-format json, and with DEFERFLOW_LOG_FORMAT=json', async () => {
    for (const [args, env] of [
      [['--log-format', 'json', 'scheduler'], { DEFERFLOW_LOG_LEVEL: 'info' }],
      [['scheduler'], { DEFERFLOW_LOG_LEVEL: 'info', DEFERFLOW_LOG_FORMAT: 'json' }],
    ] as const) {
      const scheduler = h.start([...args], { env });
      const started = await waitFor('the scheduler to log its start', () =>
        scheduler
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg?: string; component?: string; level?: number })
          .find((r) => r.msg === 'scheduler started'),
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${scheduler.output()}`);
      });
      expect(await scheduler.stop()).toBe(0);
      expect(started).toMatchObject({ component: 'scheduler', level: 30 });
      expect(
        scheduler
          .output()
          .split('\n')
          .filter((l) => PRETTY_LINE.test(l)),
      ).toEqual([]);
    }
  });

  it('rejects an unknown DEFERFLOW_LOG_FORMAT naming the variable', async () => {
    const r = await h.run(['scheduler'], { env: { DEFERFLOW_LOG_FORMAT: 'loud' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DEFERFLOW_LOG_FORMAT: must be one of pretty, json');
  });
});
