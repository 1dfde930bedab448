import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { DAG } from '../../../src/dag/dag.ts';
import { BaseOperator } from '../../../src/dag/operator.ts';
import { task } from '../../../src/dag/function-task.ts';
import type { TaskContext } from '../../../src/dag/task-context.ts';
import { EventPatternTrigger } from '../../../src/triggers/event-pattern-trigger.ts';
import { Runtime } from '../../../src/runtime/runtime.ts';
import type { RuntimeEvent } from '../../../src/runtime/runtime-event.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { MONGODB_URI } from './triggerer-harness.ts';

class WaitForOrder extends BaseOperator {
  execute(): never {
    this.defer({ trigger: new EventPatternTrigger({ source: ['shop'], 'detail-type': ['Order Paid'] }), method: 'paid', kwargs: { note: 'resumed' } });
  }
  paid(_ctx: TaskContext, kwargs: Record<string, unknown>): unknown {
    const event = kwargs.event as { detail: { order: number } };
    return { order: event.detail.order, note: kwargs.note };
  }
}

const dag = new DAG({ dagId: 'orders', schedule: null, startDate: '2025-01-01' }, () => {
  const wait = new WaitForOrder({ taskId: 'wait_for_payment' });
  const ship = task('ship', async (ctx) => ctx.ti.xcom_pull('wait_for_payment'));
  wait.then(ship);
});

let rt: Runtime;
const seen: RuntimeEvent[] = [];
beforeAll(async () => {
  const dbName = `deferflow_test_runtime_${randomBytes(4).toString('hex')}`;
  rt = await Runtime.create({
    mongoUri: `${MONGODB_URI.replace(/\/$/, '')}/${dbName}`,
    dags: [dag],
    logger: createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'warn', format: 'json' }),
    components: {
      scheduler: { loopIntervalMs: 50 },
      worker: { pollIntervalMs: 50, slots: 2 },
      triggerer: { pollIntervalMs: 50, heartbeatMs: 200 },
    },
  });
  rt.events$.subscribe((e) => seen.push(e));
  await rt.start();
});
afterAll(async () => {
  await rt?.store.dropDatabase();
  await rt?.stop();
});

describe('Runtime (embedding)', () => {
  it('runs a DAG whose task defers until an event the app emits, and streams every state change', async () => {
    const run = await rt.triggerDag('orders', { conf: { customer: 'c1' } });
    // Wait until the task is deferred: it holds no worker slot now.
    await new Promise<void>((resolve) => {
      const sub = rt.events$.subscribe((e) => {
        if (e.type === 'task_instance' && e.taskId === 'wait_for_payment' && e.state === 'deferred') {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    // The worker gives the slot back right after the deferral is persisted.
    for (let i = 0; i < 100 && rt.worker?.slotsInUse !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(rt.worker?.slotsInUse).toBe(0);
    await rt.emitAndWait({
      version: '0',
      id: 'o-1',
      source: 'shop',
      'detail-type': 'Order Paid',
      account: '1',
      time: new Date().toISOString(),
      region: 'local',
      resources: [],
      detail: { order: 42 },
    });
    const done = await rt.waitForRun('orders', run.run_id, { timeoutMs: 20_000 });
    expect(done.state).toBe('success');
    const xcom = await rt.store.xcom.findOne({ dag_id: 'orders', run_id: run.run_id, task_id: 'ship', key: 'return_value' });
    expect(JSON.parse(xcom!.value)).toEqual({ order: 42, note: 'resumed' });
    const waitStates = seen.filter((e) => e.type === 'task_instance' && e.taskId === 'wait_for_payment').map((e) => e.state);
    expect(waitStates).toEqual(expect.arrayContaining(['scheduled', 'queued', 'running', 'deferred', 'success']));
    expect(seen.some((e) => e.type === 'dag_run' && e.runId === run.run_id && e.state === 'success')).toBe(true);
  });

  it('waitForRun rejects with RUN_WAIT_TIMEOUT when the run does not finish in time', async () => {
    const run = await rt.triggerDag('orders', { runId: 'never_paid' });
    await expect(rt.waitForRun('orders', run.run_id, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'RUN_WAIT_TIMEOUT' });
  });
});
