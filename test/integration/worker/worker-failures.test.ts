/**
 * Worker failure modes against the real test server:
 *  - a worker that dies mid-task (stops heartbeating, never writes again): its task becomes a
 *    zombie, is reaped to up_for_retry and succeeds on another worker;
 *  - the stale-exit case: the row changes under a running worker, whose finish is then a no-op;
 *  - execution_timeout aborts the task's signal and fails the try with TaskTimeout;
 *  - graceful stop waits for running tries; a forced stop aborts them into a retry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { Worker } from '../../../src/worker/worker.ts';
import { XComRepository } from '../../../src/store/repositories/xcom-repository.ts';
import { createHarness, type Harness } from '../scheduler/harness.ts';

/** A latch a task waits on, released by the test (or the task's abort signal). */
class Latch {
  private resolveFn!: () => void;
  readonly promise = new Promise<void>((r) => (this.resolveFn = r));
  release(): void {
    this.resolveFn();
  }
}

const started: Record<string, number[]> = {};
const note = (id: string, tryNumber: number): void => {
  (started[id] ??= []).push(tryNumber);
};
const zombieLatch = new Latch();
const staleLatch = new Latch();
const shutdownLatch = new Latch();
let timeoutReason: unknown;

// One DAG per scenario, so the scheduler (running in the zombie case) never touches the others.
const dags = {
  zombie_task: new DAG({ dagId: 'failures_zombie_task', defaultArgs: { retry_delay: 0 } }),
  stale_task: new DAG({ dagId: 'failures_stale_task' }),
  slow_task: new DAG({ dagId: 'failures_slow_task' }),
  shutdown_task: new DAG({ dagId: 'failures_shutdown_task', defaultArgs: { retry_delay: 0 } }),
};
dags.zombie_task.with(() => {
  task(
    'zombie_task',
    async (ctx) => {
      note('zombie_task', ctx.ti.try_number);
      if (ctx.ti.try_number === 1) await zombieLatch.promise;
      return `done by try ${ctx.ti.try_number}`;
    },
    { retries: 1 },
  );
});
dags.stale_task.with(() => {
  task('stale_task', async (ctx) => {
    note('stale_task', ctx.ti.try_number);
    await staleLatch.promise;
    return 'stale value';
  });
});
dags.slow_task.with(() => {
  task(
    'slow_task',
    async (ctx) => {
      note('slow_task', ctx.ti.try_number);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, 10_000);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          timeoutReason = ctx.signal.reason;
          reject(ctx.signal.reason as Error);
        });
      });
    },
    { execution_timeout: 0.3, retries: 0 },
  );
});
dags.shutdown_task.with(() => {
  task(
    'shutdown_task',
    async (ctx) => {
      note('shutdown_task', ctx.ti.try_number);
      await shutdownLatch.promise;
    },
    { retries: 2 },
  );
});

let h: Harness;
let scheduler: Scheduler;
const workers: Worker[] = [];
const newWorker = (opts: Partial<ConstructorParameters<typeof Worker>[0]> = {}): Worker => {
  const w = new Worker({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, slots: 2, pollIntervalMs: 30, logFlushMs: 50, ...opts });
  workers.push(w);
  return w;
};

beforeAll(async () => {
  h = await createHarness('worker_failures', Object.values(dags));
  scheduler = new Scheduler({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, loopIntervalMs: 50 });
});

afterAll(async () => {
  zombieLatch.release();
  staleLatch.release();
  shutdownLatch.release();
  for (const w of workers) await w.stop({ timeoutMs: 500 }).catch(() => undefined);
  await scheduler.stop();
  await h?.close();
});

/** Queue one task of a fresh run directly (none → queued), without a scheduler. */
async function queueOne(taskId: keyof typeof dags, runId: string): Promise<string> {
  const dag = dags[taskId];
  const run = await h.trigger(dag.dagId, runId);
  await h.tis.createForRun(run, [{ task_id: taskId, operator: '@task', queue: 'default', priority_weight: 1, retries: dag.getTask(taskId).retries }]);
  await h.runs.start(run._id);
  const tiId = `${dag.dagId}|${runId}|${taskId}`;
  expect(await h.tis.queueFromNone(tiId)).not.toBeNull();
  return tiId;
}

describe('worker failure modes', () => {
  it('a worker that dies mid-task leaves a zombie that is retried and succeeds on another worker', async () => {
    const tiId = await queueOne('zombie_task', 'zombie_run');
    const dying = newWorker({ leaseMs: 300, heartbeatMs: 100, id: 'dying-worker' });
    await dying.start();
    const running = await h.waitFor('try 1 to run', async () =>
      started.zombie_task?.length ? h.ti('failures_zombie_task', 'zombie_run', 'zombie_task') : null,
    );
    expect(running.worker_id).toBe('dying-worker');
    dying.simulateCrash();

    await scheduler.start();
    const healthy = newWorker({ id: 'healthy-worker' });
    await healthy.start();
    await h.waitForRun('failures_zombie_task', 'zombie_run');
    // The dead worker's task function now "finishes" too: it must not write anything.
    zombieLatch.release();
    await new Promise((r) => setTimeout(r, 100));
    const ti = await h.ti('failures_zombie_task', 'zombie_run', 'zombie_task');
    expect(ti.state).toBe('success');
    expect(ti.try_number).toBe(2);
    expect(started.zombie_task).toEqual([1, 2]);
    expect(await new XComRepository(h.store).pull('failures_zombie_task', 'zombie_run', 'zombie_task')).toBe('done by try 2');
    expect(tiId).toBe(ti._id);
    await healthy.stop();
    await scheduler.stop();
  });

  it('a worker whose row changed under it does not overwrite it (stale exit)', async () => {
    const tiId = await queueOne('stale_task', 'stale_run');
    // Long lease and slow heartbeats: the worker does not notice before its task returns.
    const w = newWorker({ leaseMs: 60_000, heartbeatMs: 30_000 });
    await w.start();
    await h.waitFor('stale_task to run', async () => (started.stale_task?.length ? true : null));
    // Someone (a user, the API) marks the task failed while it runs.
    expect(await h.tis.markState(tiId, 'failed')).not.toBeNull();
    staleLatch.release();
    await h.waitFor('the worker to drop the try', async () => w.slotsInUse === 0);
    const ti = await h.ti('failures_stale_task', 'stale_run', 'stale_task');
    expect(ti.state).toBe('failed');
    // Not even the return value got written.
    expect(await new XComRepository(h.store).pull('failures_stale_task', 'stale_run', 'stale_task')).toBeUndefined();
    await w.stop();
  });

  it('execution_timeout aborts the task and fails the try with TaskTimeout', async () => {
    await queueOne('slow_task', 'timeout_run');
    const w = newWorker();
    await w.start();
    const ti = await h.waitFor('slow_task to fail', async () => {
      const t = await h.ti('failures_slow_task', 'timeout_run', 'slow_task');
      return t.state === 'failed' ? t : null;
    });
    expect((timeoutReason as Error).name).toBe('TaskTimeout');
    expect(ti.last_error).toMatch(/execution_timeout/);
    expect(ti.execution_deadline!.getTime() - ti.start_date!.getTime()).toBe(300);
    await w.stop();
  });

  it('a forced stop aborts running tries into their retry; a graceful one waits for them', async () => {
    await queueOne('shutdown_task', 'shutdown_run');
    const w = newWorker();
    await w.start();
    await h.waitFor('shutdown_task to run', async () => (started.shutdown_task?.length ? true : null));
    await w.stop({ graceful: true, timeoutMs: 100 });
    const ti = await h.ti('failures_shutdown_task', 'shutdown_run', 'shutdown_task');
    expect(ti.state).toBe('up_for_retry');
    expect(ti.last_error).toMatch(/shutting down/);
    expect(ti.lease_token).toBeNull();
    expect(await h.store.jobs.findOne({ _id: w.id })).toMatchObject({ state: 'success' });

    // Graceful: the retry is claimed, the worker stops claiming, and the try finishes normally.
    await h.tis.retryReady(ti._id, 'up_for_retry');
    await h.tis.queue(ti._id);
    const w2 = newWorker();
    await w2.start();
    await h.waitFor('try 2 to run', async () => (started.shutdown_task?.length === 2 ? true : null));
    const stopping = w2.stop({ graceful: true, timeoutMs: 10_000 });
    shutdownLatch.release();
    await stopping;
    expect((await h.ti('failures_shutdown_task', 'shutdown_run', 'shutdown_task')).state).toBe('success');
  });
});
