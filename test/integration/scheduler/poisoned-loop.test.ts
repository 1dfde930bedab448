/**
 * One bad row never poisons the scheduler (issue 14.1): a zombie whose task's retry delay cannot
 * be computed used to throw out of every loop before deferred deadlines were enforced, so while
 * it existed no trigger timeout of any DAG fired and the zombie itself stayed `running` forever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { taskSpecsOf } from '../../../src/scheduler/task-specs.ts';
import { createHarness, type Harness } from './harness.ts';

const poison = new DAG({ dagId: 'poison', defaultArgs: { retries: 1 } }, () => {
  task('bad', () => 1);
});
const victim = new DAG({ dagId: 'victim' }, () => {
  task('waits', () => 1);
});
let h: Harness;

beforeAll(async () => {
  h = await createHarness('poisoned_loop', [poison, victim]);
  // A task argument that cannot be used at run time (DAG import validates arguments; this stands
  // for anything that slips past it, e.g. a DAG bag older than the validation).
  (poison.getTask('bad').args as Record<string, unknown>).retry_delay = 'soon';
});
afterAll(async () => {
  await h?.close();
});

describe('scheduler loop isolation', () => {
  it('reaps an unusable zombie as failed and still fails a deferred task past its trigger timeout in the same loop', async () => {
    const badRun = await h.trigger('poison', 'r1');
    await h.tis.createForRun(badRun, taskSpecsOf(poison));
    await h.tis.queueFromNone('poison|r1|bad');
    const zombie = (await h.tis.claim({ workerId: 'ghost', hostname: 'nowhere', pid: 1, leaseMs: -1_000 }))!;
    expect(zombie._id).toBe('poison|r1|bad');

    const victimRun = await h.trigger('victim', 'r1');
    await h.tis.createForRun(victimRun, taskSpecsOf(victim));
    await h.tis.queueFromNone('victim|r1|waits');
    const running = (await h.tis.claim({ workerId: 'w', hostname: 'h', pid: 2, leaseMs: 30_000 }))!;
    const deferred = await h.tis.defer(
      running,
      running.lease_token!,
      { triggerId: 'trigger-that-never-fires', nextMethod: 'execute_complete', nextKwargs: {}, triggerTimeout: new Date(Date.now() - 1_000) },
      { heldMs: 1 },
    );
    expect(deferred?.state).toBe('deferred');

    const scheduler = new Scheduler({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger });
    await scheduler.runOnce();

    const waits = await h.ti('victim', 'r1', 'waits');
    expect(waits.state).toBe('scheduled');
    expect(waits.next_method).toBe('__fail__');
    const bad = await h.ti('poison', 'r1', 'bad');
    expect(bad.state).toBe('failed');
    expect(bad.last_error).toMatch(/no retry: its retry delay cannot be computed \(.*soon/);
  });
});
