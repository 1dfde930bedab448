// A service embedding deferflow, in plain Node ESM against the installed package (no loader, no
// TypeScript): a DAG defined in code whose first task defers on an EventBridge-style event
// pattern, an RxJS Subject as the event source, and the matching event emitted once the task has
// deferred. Prints one JSON line (the run's state, the task states seen, what `ship` received)
// and exits 0 only when the run succeeded. Run by test/package/consumer.test.ts in a scratch
// project where the packed tarball is installed; MONGODB_URI names a database of its own.
import { Subject } from 'rxjs';
import { BaseOperator, DAG, EventPatternTrigger, task } from 'deferflow';
import { Runtime, fromObservable } from 'deferflow/runtime';

/** Holds no worker slot while it waits for the order's payment event. */
class WaitForPayment extends BaseOperator {
  static templateFields = ['orderId'];
  orderId = '{{ dag_run.conf.order_id }}';

  execute() {
    this.defer({
      trigger: new EventPatternTrigger({ source: ['shop'], 'detail-type': ['Order Paid'], detail: { order_id: [this.orderId] } }),
      method: 'paid',
      timeout: '5m',
    });
  }

  paid(_ctx, kwargs) {
    return kwargs.event.detail;
  }
}

const shipped = [];
const orders = new DAG({ dagId: 'consumer_orders', schedule: null, startDate: '2025-01-01' }, () => {
  const wait = new WaitForPayment({ taskId: 'wait_for_payment' });
  const ship = task('ship', async (ctx) => {
    const paid = await ctx.ti.xcom_pull('wait_for_payment');
    shipped.push(`${paid.order_id} (${paid.amount} EUR)`);
  });
  wait.then(ship);
});

const payments$ = new Subject();
const rt = await Runtime.create({
  mongoUri: process.env.MONGODB_URI,
  dags: [orders],
  eventSources: [fromObservable('payments', payments$)],
  components: { scheduler: { loopIntervalMs: 100 }, worker: { pollIntervalMs: 100 }, triggerer: { pollIntervalMs: 100 } },
});
const states = [];
rt.events$.subscribe((e) => {
  if (e.type !== 'task_instance') return;
  states.push(`${e.taskId}:${e.state}`);
  if (e.taskId === 'wait_for_payment' && e.state === 'deferred') {
    payments$.next({
      version: '0',
      id: 'evt-consumer-1',
      source: 'shop',
      'detail-type': 'Order Paid',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: { order_id: 'A-17', amount: 42 },
    });
  }
});
await rt.start();
let run;
try {
  const triggered = await rt.triggerDag('consumer_orders', { conf: { order_id: 'A-17' } });
  run = await rt.waitForRun('consumer_orders', triggered.run_id, { timeoutMs: 120_000 });
} finally {
  await rt.stop();
}
console.log(JSON.stringify({ state: run.state, states, shipped }));
process.exit(run.state === 'success' ? 0 : 1);
