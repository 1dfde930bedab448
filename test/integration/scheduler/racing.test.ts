/**
 * Two schedulers and two workers on the same database and the same runs: every task instance runs
 * exactly once (executions counted inside the task functions), scheduled runs are created once,
 * and both runs finish. Each process has its own state-change bus, as separate processes would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task, chain, type BaseOperator, type TaskContext } from '../../../src/dag/index.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { Worker } from '../../../src/worker/worker.ts';
import { StateChangeBus } from '../../../src/store/state-change-bus.ts';
import { createHarness, type Harness } from './harness.ts';

const executions = new Map<string, number>();
const byWorker = new Map<string, number>();
const runTask = (key: string, ctx: TaskContext): number => {
  executions.set(key, (executions.get(key) ?? 0) + 1);
  const w = String((ctx.services as { name?: string } | undefined)?.name);
  byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
  return executions.get(key)!;
};

function buildTasks(prefix: string): void {
  const root = task(`${prefix}root`, (ctx) => runTask(`${ctx.run_id}/${prefix}root`, ctx));
  const fan: BaseOperator[] = [];
  for (let i = 0; i < 8; i++) fan.push(task(`${prefix}fan_${i}`, (ctx) => runTask(`${ctx.run_id}/${prefix}fan_${i}`, ctx)));
  const mid = task(`${prefix}mid`, (ctx) => runTask(`${ctx.run_id}/${prefix}mid`, ctx));
  const tail: BaseOperator[] = [];
  for (let i = 0; i < 3; i++) tail.push(task(`${prefix}tail_${i}`, (ctx) => runTask(`${ctx.run_id}/${prefix}tail_${i}`, ctx)));
  chain(root, fan, mid, tail[0], tail[1], tail[2]);
}

const manual = new DAG({ dagId: 'race_manual', maxActiveTasks: 64 }, () => buildTasks(''));
// Three whole days before today (UTC midnight): exactly three scheduled runs are due.
const today = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
const threeDaysAgo = new Date(today.getTime() - 3 * 86_400_000);
const scheduled = new DAG({ dagId: 'race_scheduled', schedule: '@daily', startDate: threeDaysAgo, catchup: true, maxActiveTasks: 64 }, () => buildTasks('s_'));

let h: Harness;
const procs: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  h = await createHarness('racing', [manual, scheduled]);
  for (let i = 0; i < 2; i++) {
    const bus = new StateChangeBus();
    const s = new Scheduler({ store: h.store, dagBag: h.bag, bus, logger: h.logger, loopIntervalMs: 50, id: `sched-${i}` });
    const w = new Worker({
      store: h.store,
      dagBag: h.bag,
      bus,
      logger: h.logger,
      slots: 6,
      pollIntervalMs: 20,
      id: `worker-${i}`,
      services: { name: `worker-${i}` },
    });
    procs.push(s, w);
  }
});

afterAll(async () => {
  for (const p of procs) await p.stop();
  await h?.close();
});

describe('two schedulers and two workers racing', () => {
  it('run every task instance exactly once and create each scheduled run once', async () => {
    const a = await h.trigger('race_manual', 'manual__a');
    const b = await h.trigger('race_manual', 'manual__b');
    await Promise.all(procs.map((p) => (p as Scheduler | Worker).start()));
    await h.waitForRun('race_manual', a.run_id, 60_000);
    await h.waitForRun('race_manual', b.run_id, 60_000);
    const sRuns = await h.waitFor(
      'three scheduled runs to finish',
      async () => {
        const runs = await h.store.dagRuns.find({ dag_id: 'race_scheduled' }).toArray();
        return runs.length >= 3 && runs.every((r) => r.state === 'success') ? runs : null;
      },
      60_000,
    );
    expect(sRuns.map((r) => r.logical_date.toISOString()).sort()).toEqual([3, 2, 1].map((d) => new Date(today.getTime() - d * 86_400_000).toISOString()));

    const tasksPerRun = manual.taskIds.length;
    expect(executions.size).toBe(tasksPerRun * 5);
    const twice = [...executions].filter(([, n]) => n !== 1);
    expect(twice).toEqual([]);
    for (const run of [a, b]) {
      const states = await h.tiStates('race_manual', run.run_id);
      expect(Object.values(states).every((s) => s === 'success')).toBe(true);
      expect(Object.keys(states)).toHaveLength(tasksPerRun);
    }
    // Each try was claimed once: try_number 1 everywhere.
    const tries = await h.store.taskInstances.distinct('try_number', {});
    expect(tries).toEqual([1]);
    // Both workers took part (the work was really shared, so the race was real).
    expect([...byWorker.keys()].sort()).toEqual(['worker-0', 'worker-1']);
  }, 90_000);

  it('left both schedulers and workers registered as live jobs', async () => {
    const jobs = await h.store.jobs.find({ state: 'running' }).toArray();
    expect(jobs.map((j) => j.job_type).sort()).toEqual(['SchedulerJob', 'SchedulerJob', 'WorkerJob', 'WorkerJob']);
    expect(jobs.find((j) => j.job_type === 'WorkerJob')?.capacity).toBe(6);
  });
});
