/**
 * Scheduler decisions that depend on time, driven by a fake clock through `runOnce()`: scheduled
 * run creation from the timetable cursor (catchup on / off), max_active_runs, retry backoff
 * (scheduled_after = failure time + nextRetryDelayMs, not queued before it), zombie retry delay, and
 * dagrun_timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { nextRetryDelayMs, retryJitterKey } from '../../../src/scheduler/retry-delay.ts';
import { Worker } from '../../../src/worker/worker.ts';
import { createHarness, type Harness } from './harness.ts';

const day = 86_400_000;
const catchupDag = new DAG({ dagId: 'clock_catchup', schedule: '@daily', startDate: '2025-01-01', catchup: true, maxActiveRuns: 2 }, () => {
  task('t', () => 1);
});
const latestDag = new DAG({ dagId: 'clock_latest', schedule: '@daily', startDate: '2025-01-01', catchup: false }, () => {
  task('t', () => 1);
});
const retryDag = new DAG({ dagId: 'clock_retry', defaultArgs: { retries: 3, retry_delay: 10, retry_exponential_backoff: true, queue: 'retry_q' } }, () => {
  task('boom', () => {
    throw new Error('always fails');
  });
});
const timeoutDag = new DAG({ dagId: 'clock_timeout', dagrunTimeout: 60 }, () => {
  task('never_runs', () => 1);
});

let h: Harness;
let now = new Date('2025-01-04T12:00:00Z');
const clock = (): Date => now;
let scheduler: Scheduler;

beforeAll(async () => {
  h = await createHarness('scheduler_clock', [catchupDag, latestDag, retryDag, timeoutDag]);
  scheduler = new Scheduler({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, clock });
});

afterAll(async () => {
  await h?.close();
});

describe('scheduler with a fake clock', () => {
  it('creates catchup runs up to max_active_runs and the latest interval only without catchup', async () => {
    const r = await scheduler.runOnce();
    const catchupRuns = await h.store.dagRuns.find({ dag_id: 'clock_catchup' }).sort({ logical_date: 1 }).toArray();
    // Intervals 01-01, 01-02, 01-03 are complete at 01-04 12:00, but max_active_runs is 2.
    expect(catchupRuns.map((x) => x.run_id)).toEqual(['scheduled__2025-01-01T00:00:00+00:00', 'scheduled__2025-01-02T00:00:00+00:00']);
    expect(catchupRuns.every((x) => x.state === 'running' && x.run_type === 'scheduled')).toBe(true);
    expect(catchupRuns[0].data_interval_end.toISOString()).toBe('2025-01-02T00:00:00.000Z');
    const latest = await h.store.dagRuns.find({ dag_id: 'clock_latest' }).toArray();
    expect(latest.map((x) => x.logical_date.toISOString())).toEqual(['2025-01-03T00:00:00.000Z']);
    expect(r.runsCreated).toBe(3);
    const doc = await h.store.dags.findOne({ _id: 'clock_catchup' });
    expect(doc?.last_automated_data_interval_end?.toISOString()).toBe('2025-01-03T00:00:00.000Z');
    expect(doc?.next_dagrun?.toISOString()).toBe('2025-01-03T00:00:00.000Z');

    // Nothing more is due: a second loop creates nothing.
    expect((await scheduler.runOnce()).runsCreated).toBe(0);
    // A paused DAG gets no runs.
    await h.store.dags.updateOne({ _id: 'clock_latest' }, { $set: { is_paused: true } });
    now = new Date(now.getTime() + day);
    await scheduler.runOnce();
    expect(await h.store.dagRuns.countDocuments({ dag_id: 'clock_latest' })).toBe(1);
  });

  it('puts a failed try up_for_retry at failure time + nextRetryDelayMs and queues it only after that', async () => {
    const run = await h.trigger('clock_retry', 'retry_run');
    await scheduler.runOnce();
    expect((await h.ti('clock_retry', run.run_id, 'boom')).state).toBe('queued');
    const worker = new Worker({ store: h.store, dagBag: h.bag, logger: h.logger, slots: 1, pollIntervalMs: 20 });
    await worker.start();
    const failed = await h.waitFor('try 1 to fail', async () => {
      const t = await h.ti('clock_retry', run.run_id, 'boom');
      return t.state === 'up_for_retry' ? t : null;
    });
    await worker.stop();
    const expected = nextRetryDelayMs({
      retryDelayMs: 10_000,
      exponentialBackoff: true,
      tryNumber: 1,
      jitterKey: retryJitterKey({ dagId: 'clock_retry', taskId: 'boom', logicalDate: run.logical_date, tryNumber: 1 }),
    });
    expect(expected).toBeGreaterThanOrEqual(10_000);
    // retryAt is computed just before the write that stamps end_date.
    const gap = failed.scheduled_after!.getTime() - failed.end_date!.getTime();
    expect(gap).toBeLessThanOrEqual(expected);
    expect(gap).toBeGreaterThan(expected - 1000);
    expect(failed.last_error).toBe('always fails');

    now = new Date(failed.scheduled_after!.getTime() - 1);
    await scheduler.runOnce();
    expect((await h.ti('clock_retry', run.run_id, 'boom')).state).toBe('up_for_retry');
    now = new Date(failed.scheduled_after!.getTime() + 1);
    await scheduler.runOnce();
    expect((await h.ti('clock_retry', run.run_id, 'boom')).state).toBe('queued');
  });

  it("reaps a zombie with the task's retry delay counted from the scheduler clock", async () => {
    const tiId = 'clock_retry|retry_run|boom';
    // Claim it by hand with a lease that is already over: a worker that died right after claiming.
    const claimed = await h.tis.claim({ workerId: 'ghost', hostname: 'nowhere', pid: 1, leaseMs: -1000, queues: ['retry_q'] });
    expect(claimed?._id).toBe(tiId);
    expect(claimed?.try_number).toBe(2);
    const r = await scheduler.runOnce();
    expect(r.zombies).toBe(1);
    const ti = await h.ti('clock_retry', 'retry_run', 'boom');
    expect(ti.state).toBe('up_for_retry');
    expect(ti.last_error).toMatch(/Zombie: worker ghost/);
    const expected = nextRetryDelayMs({
      retryDelayMs: 10_000,
      exponentialBackoff: true,
      tryNumber: 2,
      jitterKey: retryJitterKey({ dagId: 'clock_retry', taskId: 'boom', logicalDate: ti.logical_date, tryNumber: 2 }),
    });
    expect(ti.scheduled_after!.getTime()).toBe(now.getTime() + expected);
  });

  it('fails a run past dagrun_timeout and skips its unfinished tasks', async () => {
    now = new Date();
    const run = await h.trigger('clock_timeout', 'timeout_run');
    await scheduler.runOnce();
    expect((await h.store.dagRuns.findOne({ _id: run._id }))?.state).toBe('running');
    now = new Date(Date.now() + 61_000);
    const r = await scheduler.runOnce();
    expect(r.runsFinished).toBeGreaterThanOrEqual(1);
    expect((await h.store.dagRuns.findOne({ _id: run._id }))?.state).toBe('failed');
    expect(await h.tiStates('clock_timeout', 'timeout_run')).toEqual({ never_runs: 'skipped' });
  });
});
