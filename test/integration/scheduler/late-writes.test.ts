/**
 * The scheduler reads only rows changed since its last pass (src/scheduler/change-cursor.ts). A
 * write whose `updated_at` stamp is older than rows it has already read — a writer whose clock is
 * behind, a batch committed late — is missed by that fast read; the lagged window check (count and
 * version sum per window) must still find it, long before the periodic rebuild of the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { StateChangeBus } from '../../../src/store/state-change-bus.ts';
import { taskSpecsOf } from '../../../src/scheduler/task-specs.ts';
import { createHarness, type Harness } from './harness.ts';

const chain = new DAG({ dagId: 'late_chain' }, () => {
  task('a', () => 1).then(task('b', () => 1));
});
const other = new DAG({ dagId: 'late_other' }, () => {
  task('x', () => 1);
});

let h: Harness;
beforeAll(async () => {
  h = await createHarness('late_writes', [chain, other]);
});
afterAll(async () => {
  await h?.close();
});

describe('a write stamped before rows the scheduler already read', () => {
  it('is found by the window check and the run goes on', async () => {
    // Its own bus: the test's writes reach it only through the database, as another process's would.
    const scheduler = new Scheduler({ store: h.store, dagBag: h.bag, bus: new StateChangeBus(), logger: h.logger, loopIntervalMs: 50, runRefreshMs: 600_000 });
    await scheduler.start();
    try {
      const run = await h.trigger('late_chain', 'r1');
      const a = await h.waitFor('a to be queued', async () => {
        const t = await h.store.taskInstances.findOne({ _id: `late_chain|${run.run_id}|a` });
        return t?.state === 'queued' ? t : null;
      });
      // A fresh row somewhere else moves the scheduler's fast read to now…
      const otherRun = await h.trigger('late_other', 'o1');
      await h.tis.createForRun(otherRun, taskSpecsOf(other));
      await h.store.taskInstances.updateOne({ _id: 'late_other|o1|x' }, { $set: { updated_at: new Date(), changed_by: 'someone' }, $inc: { version: 1 } });
      await new Promise((r) => setTimeout(r, 300));
      // …then `a` ends, stamped 700 ms in the past (within the 1 s lag the windows allow for).
      await h.store.taskInstances.updateOne(
        { _id: a._id },
        { $set: { state: 'success', end_date: new Date(), updated_at: new Date(Date.now() - 700), changed_by: 'slow-clock-worker' }, $inc: { version: 1 } },
      );
      const b = await h.waitFor(
        'b to be queued',
        async () => {
          const t = await h.store.taskInstances.findOne({ _id: `late_chain|${run.run_id}|b` });
          return t?.state === 'queued' ? t : null;
        },
        15_000,
      );
      expect(b.queued_by_job_id).toBe(scheduler.id);
    } finally {
      await scheduler.stop();
    }
  });
});
