/**
 * Resumes go first (issue 14.3): a task resumed from its deferral finishes work already in
 * flight, so the scheduler queues it even while max_active_tasks is taken by fresh tries, and a
 * worker claims it before fresh tries queued earlier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseOperator, DAG, task, type TaskContext } from '../../../src/dag/index.ts';
import type { OperatorArgs } from '../../../src/dag/task-args.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { Worker } from '../../../src/worker/worker.ts';
import { taskSpecsOf } from '../../../src/scheduler/task-specs.ts';
import { createHarness, type Harness } from './harness.ts';

class WaitsForEvent extends BaseOperator {
  constructor(args: OperatorArgs) {
    super(args);
  }
  override execute(_ctx: TaskContext): never {
    return this.defer({ trigger: { kind: 'test.manual', kwargs: {} }, method: 'done' });
  }
  done(): string {
    return 'resumed';
  }
}

let release: () => void = () => undefined;
const gate = new Promise<void>((r) => {
  release = r;
});

// max_active_tasks 2: once the deferring task waits, two blocking fresh tasks take the DAG's capacity.
const dag = new DAG({ dagId: 'resumes_first', maxActiveTasks: 2 }, () => {
  new WaitsForEvent({ taskId: 'deferring', priority_weight: 100 });
  for (let i = 0; i < 4; i++) task(`block_${i}`, () => gate, { priority_weight: 1 });
});

const claimOrder = new DAG({ dagId: 'claim_order', defaultArgs: { queue: 'order' } }, () => {
  task('fresh', () => 1, { priority_weight: 1000 });
  new WaitsForEvent({ taskId: 'resumed', priority_weight: 1 });
});

let h: Harness;
beforeAll(async () => {
  h = await createHarness('resumes_first', [dag, claimOrder]);
});
afterAll(async () => {
  release();
  await h?.close();
});

describe('resumed tasks go first', () => {
  it('the scheduler queues a resume while max_active_tasks is full of fresh tries, and it finishes before them', async () => {
    const scheduler = new Scheduler({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, loopIntervalMs: 50 });
    const worker = new Worker({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, slots: 4, pollIntervalMs: 50, queues: ['default'] });
    await scheduler.start();
    await worker.start();
    try {
      const run = await h.trigger('resumes_first', 'r1');
      const row = (taskId: string) => h.store.taskInstances.findOne({ _id: `resumes_first|${run.run_id}|${taskId}` });
      const deferred = await h.waitFor('the task to defer', async () => {
        const t = await row('deferring');
        return t?.state === 'deferred' ? t : null;
      });
      await h.waitFor('two fresh tries to take the capacity', async () => {
        const states = Object.values(await h.tiStates('resumes_first', run.run_id));
        return states.filter((s) => s === 'running').length === 2;
      });
      await h.tis.resumeFromTrigger(deferred.trigger_id!, { ok: true }, deferred._id);
      const done = await h.waitFor('the resumed task to finish', async () => {
        const t = await row('deferring');
        return t?.state === 'success' ? t : null;
      });
      expect(done.is_resume).toBe(true);
      // The fresh tries still hold the capacity: the resume did not wait for them.
      const states = await h.tiStates('resumes_first', run.run_id);
      expect(Object.entries(states).filter(([id, s]) => id.startsWith('block_') && s === 'running')).toHaveLength(2);
      // The other two wait for capacity (ready but over it: scheduled).
      expect(Object.entries(states).filter(([id, s]) => id.startsWith('block_') && s === 'scheduled')).toHaveLength(2);
    } finally {
      release();
      await worker.stop({ timeoutMs: 5000 });
      await scheduler.stop();
    }
  });

  it('a worker claims a queued resume before a fresh try queued earlier with a higher priority', async () => {
    const run = await h.trigger('claim_order', 'r2');
    await h.tis.createForRun(run, taskSpecsOf(claimOrder));
    const resumed = await h.tis.queueFromNone('claim_order|r2|resumed');
    const claimed = (await h.tis.claim({ workerId: 'w', hostname: 'h', pid: 1, leaseMs: 30_000, queues: ['order'] }))!;
    const deferred = await h.tis.defer(
      claimed,
      claimed.lease_token!,
      { triggerId: 't1', nextMethod: 'done', nextKwargs: {}, triggerTimeout: null },
      { heldMs: 1 },
    );
    expect(resumed && deferred?.state).toBe('deferred');
    const fresh = await h.tis.queueFromNone('claim_order|r2|fresh', { schedulerId: 's', resume: false });
    expect(fresh?.state).toBe('queued');
    const back = (await h.tis.resumeFromTrigger('t1', { ok: true }, 'claim_order|r2|resumed'))!;
    await h.tis.queueMany([back], { schedulerId: 's' });
    const [first] = await h.tis.claimMany({ workerId: 'w', hostname: 'h', pid: 1, leaseMs: 30_000, limit: 1, queues: ['order'] });
    expect(first?._id).toBe('claim_order|r2|resumed');
    expect(first?.next_method).toBe('done');
  });
});
