/**
 * One scheduler + one worker run a DAG with fan-out, fan-in, a task that succeeds on its second
 * try, a failing branch (upstream_failed downstream), a skip, and all_done / one_failed joins, and
 * end in the states Airflow gives the same DAG.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { TaskFailedNoRetry, TaskSkipped } from '../../../src/errors/task-errors.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { Worker } from '../../../src/worker/worker.ts';
import { TaskLogRepository } from '../../../src/store/repositories/task-log-repository.ts';
import { XComRepository } from '../../../src/store/repositories/xcom-repository.ts';
import { createHarness, type Harness } from './harness.ts';

const calls: Record<string, number> = {};
const count = (id: string): void => {
  calls[id] = (calls[id] ?? 0) + 1;
};
const dagCallbacks: string[] = [];

const dag = new DAG(
  {
    dagId: 'semantics',
    defaultArgs: { retry_delay: 0.05 },
    onFailureCallback: ({ runId, state }) => {
      dagCallbacks.push(`${runId}:${state}`);
    },
  },
  () => {
    const start = task('start', (ctx) => {
      count('start');
      ctx.log.info('starting the run %s', ctx.run_id);
      return 10;
    });
    const a = task('a', (_ctx, base: number) => (count('a'), base + 1), { args: [start.output] });
    const b = task('b', (_ctx, base: number) => (count('b'), base + 2), { args: [start.output] });
    const flaky = task(
      'flaky',
      (ctx) => {
        count('flaky');
        if (ctx.ti.try_number === 1) throw new Error('transient failure on try 1');
        return `ok on try ${ctx.ti.try_number}`;
      },
      { retries: 1 },
    );
    const joinAb = task('join_ab', (_ctx, x: number, y: number) => (count('join_ab'), x + y), { args: [a.output, b.output] });
    const failTask = task(
      'fail_task',
      () => {
        count('fail_task');
        throw new TaskFailedNoRetry('broken on purpose');
      },
      { retries: 3 },
    );
    const afterFail = task('after_fail', () => count('after_fail'));
    const afterAfter = task('after_after', () => count('after_after'));
    const allDone = task('all_done_join', () => count('all_done_join'), { trigger_rule: 'all_done' });
    const oneFailed = task('one_failed_join', () => count('one_failed_join'), { trigger_rule: 'one_failed' });
    const skip = task('skip_task', () => {
      count('skip_task');
      throw new TaskSkipped('nothing to do');
    });
    const afterSkip = task('after_skip', () => count('after_skip'));
    start.then([a, b, flaky, failTask, skip]);
    failTask.then(afterFail).then(afterAfter);
    for (const t of [afterFail, joinAb]) t.then(allDone);
    for (const t of [failTask, a]) t.then(oneFailed);
    skip.then(afterSkip);
  },
);

let h: Harness;
let scheduler: Scheduler;
let worker: Worker;

beforeAll(async () => {
  h = await createHarness('semantics', [dag]);
  scheduler = new Scheduler({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, loopIntervalMs: 50 });
  worker = new Worker({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, slots: 4, pollIntervalMs: 50, logFlushMs: 50 });
  await scheduler.start();
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await scheduler?.stop();
  await h?.close();
});

describe('a DAG run by one scheduler and one worker', () => {
  it('ends every task in the state Airflow would give it', async () => {
    const run = await h.trigger('semantics', 'manual__semantics');
    const done = await h.waitForRun('semantics', run.run_id);
    expect(await h.tiStates('semantics', run.run_id)).toEqual({
      start: 'success',
      a: 'success',
      b: 'success',
      flaky: 'success',
      join_ab: 'success',
      fail_task: 'failed',
      after_fail: 'upstream_failed',
      after_after: 'upstream_failed',
      all_done_join: 'success',
      one_failed_join: 'success',
      skip_task: 'skipped',
      after_skip: 'skipped',
    });
    // A leaf (after_after) is upstream_failed, so the run failed; the DAG callback saw it. It runs
    // after the run's state changed (from a persisted request), so wait for it rather than assume.
    expect(done.state).toBe('failed');
    await h.waitFor('the DAG on_failure_callback', async () => dagCallbacks.length > 0);
    expect(dagCallbacks).toEqual(['manual__semantics:failed']);
    // Ran once, and its request is gone.
    await h.waitFor('the callback request to be deleted', async () => (await h.store.callbackRequests.countDocuments({ kind: 'dag' })) === 0);
    expect(dagCallbacks).toEqual(['manual__semantics:failed']);
    // Each task ran once, except the retried one; tasks never started never ran.
    expect(calls).toEqual({ start: 1, a: 1, b: 1, flaky: 2, join_ab: 1, fail_task: 1, all_done_join: 1, one_failed_join: 1, skip_task: 1 });
  });

  it('passes return values along as XComs (fan-in sees both)', async () => {
    const x = new XComRepository(h.store);
    expect(await x.pull('semantics', 'manual__semantics', 'start')).toBe(10);
    expect(await x.pull('semantics', 'manual__semantics', 'join_ab')).toBe(11 + 12);
    expect(await x.pull('semantics', 'manual__semantics', 'flaky')).toBe('ok on try 2');
    // A task that returned nothing has no return_value XCom.
    expect(await x.pull('semantics', 'manual__semantics', 'after_skip')).toBeUndefined();
  });

  it('records tries, errors and slot time on the task instances', async () => {
    const flaky = await h.ti('semantics', 'manual__semantics', 'flaky');
    expect(flaky.try_number).toBe(2);
    expect(flaky.last_error).toBeNull();
    const failed = await h.ti('semantics', 'manual__semantics', 'fail_task');
    // TaskFailedNoRetry: no retry although retries: 3.
    expect(failed.try_number).toBe(1);
    expect(failed.last_error).toBe('broken on purpose');
    expect(failed.lease_token).toBeNull();
    const start = await h.ti('semantics', 'manual__semantics', 'start');
    expect(start.running_ms).toBeGreaterThanOrEqual(0);
    expect(start.worker_id).toBeNull();
    expect(start.rendered_fields).toBe(JSON.stringify({ op_args: [] }));
  });

  it("stores each try's log lines in MongoDB, readable per try", async () => {
    const logs = new TaskLogRepository(h.store);
    const flakyId = 'semantics|manual__semantics|flaky';
    expect(await logs.tries(flakyId)).toEqual([1, 2]);
    const try1 = await logs.read(flakyId, 1);
    expect(try1.map((l) => l.msg).join('\n')).toContain('transient failure on try 1');
    expect(try1.map((l) => l.seq)).toEqual(try1.map((_, i) => i));
    const start = await logs.read('semantics|manual__semantics|start', 1);
    expect(start.some((l) => l.msg === 'starting the run manual__semantics')).toBe(true);
    expect(start[0].level).toBe('info');
    const tail = await logs.read('semantics|manual__semantics|start', 1, { afterSeq: start[0].seq });
    expect(tail).toHaveLength(start.length - 1);
  });
});
