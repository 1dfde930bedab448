/**
 * Runnable example of embedding deferflow: one process runs the scheduler, a worker and the
 * triggerer; a task defers until the application emits an "Order Paid" event; the app watches
 * every state change through `events$`.
 *
 *   MONGODB_URI=mongodb://127.0.0.1:27017/deferflow_example npx tsx src/runtime/example.ts
 *
 * Without MONGODB_URI it starts an embedded MongoDB (mongodb-memory-server, downloads mongod once).
 */
import { DAG } from '../dag/dag.ts';
import { BaseOperator } from '../dag/operator.ts';
import { task } from '../dag/function-task.ts';
import type { TaskContext } from '../dag/task-context.ts';
import { EventPatternTrigger } from '../triggers/event-pattern-trigger.ts';
import { Runtime } from './runtime.ts';

/** Waits, holding no worker slot, for the order's payment event. */
class WaitForPayment extends BaseOperator {
  static override templateFields = ['orderId'] as const;
  orderId = '{{ dag_run.conf.order_id }}';

  execute(): never {
    this.defer({
      trigger: new EventPatternTrigger({ source: ['shop'], 'detail-type': ['Order Paid'], detail: { order_id: [this.orderId] } }),
      method: 'paid',
      timeout: '1h',
    });
  }

  paid(_ctx: TaskContext, kwargs: Record<string, unknown>): unknown {
    const event = kwargs.event as { detail: { order_id: string; amount: number } };
    return event.detail;
  }
}

const orders = new DAG({ dagId: 'order_fulfilment', schedule: null, startDate: '2025-01-01' }, () => {
  const wait = new WaitForPayment({ taskId: 'wait_for_payment' });
  const ship = task('ship', async (ctx) => {
    const paid = (await ctx.ti.xcom_pull('wait_for_payment')) as { order_id: string; amount: number };
    return `shipped ${paid.order_id} (${paid.amount} EUR)`;
  });
  wait.then(ship);
});

async function main(): Promise<void> {
  const rt = await Runtime.create({
    dags: [orders],
    components: { scheduler: { loopIntervalMs: 100 }, worker: { pollIntervalMs: 100 }, triggerer: { pollIntervalMs: 100 } },
  });
  rt.events$.subscribe((e) => {
    if (e.type === 'task_instance') console.log(`task ${e.taskId}: ${e.previous ?? '∅'} → ${e.state}`);
    else console.log(`run ${e.runId}: ${e.state}`);
  });
  await rt.start();

  const run = await rt.triggerDag('order_fulfilment', { conf: { order_id: 'A-17' } });
  // Later, the payment service tells us. (emit() is fire-and-forget: an event nobody waits on yet
  // is dropped, so this demo pays once the task is deferred; real sources such as SQS redeliver.)
  const sub = rt.events$.subscribe((e) => {
    if (e.type === 'task_instance' && e.taskId === 'wait_for_payment' && e.state === 'deferred') {
      sub.unsubscribe();
      rt.emit({
        version: '0',
        id: 'evt-1',
        source: 'shop',
        'detail-type': 'Order Paid',
        account: 'local',
        time: new Date().toISOString(),
        region: 'local',
        resources: [],
        detail: { order_id: 'A-17', amount: 42 },
      });
    }
  });

  const done = await rt.waitForRun('order_fulfilment', run.run_id, { timeoutMs: 60_000 });
  const shipped = await rt.store.xcom.findOne({ dag_id: 'order_fulfilment', run_id: run.run_id, task_id: 'ship', key: 'return_value' });
  console.log(`run ${done.run_id} ${done.state}: ${shipped ? String(JSON.parse(shipped.value)) : '(no result)'}`);
  await rt.stop();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
