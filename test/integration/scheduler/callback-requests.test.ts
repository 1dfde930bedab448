/**
 * Callbacks run from persisted requests (issue 14.9): a scheduler or worker that dies between a
 * state change and its callback leaves the request behind, and another process of the same role
 * runs it once the request's lease expired — only if the change it follows really happened. The
 * dead process is played by rows as it would have left them (its request, its lease expired).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task, type TaskContext } from '../../../src/dag/index.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { Worker } from '../../../src/worker/worker.ts';
import { callbackRequestId, type CallbackRequestDoc } from '../../../src/store/schema.ts';
import { TaskLogRepository } from '../../../src/store/repositories/task-log-repository.ts';
import { taskSpecsOf } from '../../../src/scheduler/task-specs.ts';
import { createHarness, type Harness } from './harness.ts';

const dagCalls: string[] = [];
const taskCalls: string[] = [];
const recordTask =
  (which: string) =>
  (ctx: TaskContext, err?: unknown): void => {
    taskCalls.push(`${ctx.run_id}/${ctx.ti.task_id}/try${ctx.ti.try_number}:${which}:${(err as Error | undefined)?.message ?? ''}`);
    ctx.log.info(`${which} ran`);
  };

const withCallbacks = new DAG(
  {
    dagId: 'cb',
    onSuccessCallback: ({ runId, state }) => {
      dagCalls.push(`${runId}:${state}`);
    },
    onFailureCallback: ({ runId, state, reason }) => {
      dagCalls.push(`${runId}:${state}:${reason ?? ''}`);
    },
  },
  () => {
    task('t', () => 1, { on_failure_callback: recordTask('on_failure'), on_retry_callback: recordTask('on_retry') });
  },
);

let h: Harness;
const ghost = 'scheduler-that-died';

function request(over: Partial<CallbackRequestDoc> & Pick<CallbackRequestDoc, 'kind' | 'run_id' | 'state' | 'callback'>): CallbackRequestDoc {
  const base = { dag_id: 'cb', task_id: null, try_number: null, reason: null, clear_number: 0, ...over };
  return { ...base, _id: callbackRequestId(base), created_at: new Date(), owner: ghost, lease_expires_at: new Date(Date.now() - 1000), attempts: 1 };
}

beforeAll(async () => {
  h = await createHarness('callback_requests', [withCallbacks]);
});
afterAll(async () => {
  await h?.close();
});

describe('DAG callbacks left behind by a scheduler that died', () => {
  it('run once on another scheduler when the run is in the state the request names; a request whose finish never happened is dropped unrun', async () => {
    const done = await h.trigger('cb', 'finished_run');
    await h.store.dagRuns.updateOne({ _id: done._id }, { $set: { state: 'success', end_date: new Date() } });
    const other = await h.trigger('cb', 'not_finished');
    await h.store.dagRuns.updateOne({ _id: other._id }, { $set: { state: 'failed', end_date: new Date() } });
    await h.store.callbackRequests.insertMany([
      request({ kind: 'dag', run_id: 'finished_run', state: 'success', callback: 'on_success_callback' }),
      // Its scheduler died before the finish landed: the run ended otherwise.
      request({ kind: 'dag', run_id: 'not_finished', state: 'success', callback: 'on_success_callback' }),
    ]);
    const scheduler = new Scheduler({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, loopIntervalMs: 50 });
    await scheduler.start();
    try {
      await h.waitFor('both requests to be handled', async () => (await h.store.callbackRequests.countDocuments({ kind: 'dag' })) === 0);
    } finally {
      await scheduler.stop();
    }
    expect(dagCalls).toEqual(['finished_run:success']);
  });

  it('a live lease is left alone', async () => {
    const run = await h.trigger('cb', 'still_owned');
    await h.store.dagRuns.updateOne({ _id: run._id }, { $set: { state: 'success' } });
    const live = {
      ...request({ kind: 'dag', run_id: 'still_owned', state: 'success', callback: 'on_success_callback' }),
      lease_expires_at: new Date(Date.now() + 60_000),
    };
    await h.store.callbackRequests.insertOne(live);
    await new Scheduler({ store: h.store, dagBag: h.bag, logger: h.logger }).runOnce();
    expect(await h.store.callbackRequests.findOne({ _id: live._id })).not.toBeNull();
    expect(dagCalls).not.toContain('still_owned:success');
    await h.store.callbackRequests.deleteOne({ _id: live._id });
  });
});

describe('task callbacks left behind', () => {
  it('a worker runs the on_failure_callback of a try whose worker died after writing its outcome', async () => {
    const run = await h.trigger('cb', 'task_run');
    await h.tis.createForRun(run, taskSpecsOf(withCallbacks));
    await h.store.taskInstances.updateOne({ _id: 'cb|task_run|t' }, { $set: { state: 'failed', try_number: 1, last_error: 'boom' } });
    await h.store.callbackRequests.insertOne(
      request({
        kind: 'task',
        run_id: 'task_run',
        task_id: 't',
        try_number: 1,
        state: 'failed',
        callback: 'on_failure_callback',
        reason: 'boom',
        clear_number: null,
      }),
    );
    const worker = new Worker({ store: h.store, dagBag: h.bag, logger: h.logger, slots: 1, heartbeatMs: 30, callbackSweepMs: 30, pollIntervalMs: 50 });
    await worker.start();
    try {
      await h.waitFor('the task callback request to be handled', async () => (await h.store.callbackRequests.countDocuments({ kind: 'task' })) === 0);
    } finally {
      await worker.stop();
    }
    expect(taskCalls).toEqual(['task_run/t/try1:on_failure:boom']);
    const lines = (await new TaskLogRepository(h.store).read('cb|task_run|t', 1)).map((l) => l.msg);
    expect(lines.some((m) => m.includes('on_failure ran'))).toBe(true);
  });

  it("a zombie's on_retry_callback is run by a worker after the scheduler reaps it", async () => {
    taskCalls.length = 0;
    const retrying = new DAG({ dagId: 'cb_zombie', defaultArgs: { retries: 1, retry_delay: 3600 } }, () => {
      task('z', () => 1, { on_retry_callback: recordTask('on_retry') });
    });
    const z = await createHarness('callback_zombie', [retrying]);
    try {
      const run = await z.trigger('cb_zombie', 'zrun');
      await z.tis.createForRun(run, taskSpecsOf(retrying));
      await z.tis.queueFromNone('cb_zombie|zrun|z');
      const claimed = await z.tis.claim({ workerId: 'dead-worker', hostname: 'gone', pid: 1, leaseMs: -1000 });
      expect(claimed?._id).toBe('cb_zombie|zrun|z');
      const scheduler = new Scheduler({ store: z.store, dagBag: z.bag, logger: z.logger });
      expect((await scheduler.runOnce()).zombies).toBe(1);
      expect((await z.ti('cb_zombie', 'zrun', 'z')).state).toBe('up_for_retry');
      const worker = new Worker({ store: z.store, dagBag: z.bag, logger: z.logger, slots: 1, heartbeatMs: 30, callbackSweepMs: 30, pollIntervalMs: 50 });
      await worker.start();
      try {
        await z.waitFor('the zombie callback to run', async () => (await z.store.callbackRequests.countDocuments({})) === 0);
      } finally {
        await worker.stop();
      }
      expect(taskCalls).toHaveLength(1);
      expect(taskCalls[0]).toMatch(/^zrun\/z\/try1:on_retry:Zombie: worker dead-worker/);
    } finally {
      await z.close();
    }
  });
});
