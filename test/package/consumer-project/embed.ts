/** The embedding API from TypeScript, type-checked against the shipped declarations. */
import { Subject } from 'rxjs';
import { DAG, task } from 'deferflow';
import { type EventBridgeEvent, type RuntimeEvent, Runtime, fromObservable } from 'deferflow/runtime';
import typedPipeline from './dags/typed_pipeline.js';

const events$ = new Subject<EventBridgeEvent>();
const hello = new DAG({ dagId: 'consumer_hello', schedule: null, startDate: '2025-01-01' }, () => {
  task('hello', async () => 'hello');
});

export async function runOnce(mongoUri: string): Promise<'success' | 'failed'> {
  const rt = await Runtime.create({ mongoUri, dags: [hello, typedPipeline], eventSources: [fromObservable('app', events$)] });
  const seen: string[] = [];
  const sub = rt.events$.subscribe((e: RuntimeEvent) => {
    seen.push(e.type === 'task_instance' ? `${e.taskId}:${e.state}` : `run:${e.state}`);
  });
  await rt.start();
  const run = await rt.triggerDag('consumer_hello', { conf: { seen: seen.length } });
  const done = await rt.waitForRun('consumer_hello', run.run_id, { timeoutMs: 60_000 });
  sub.unsubscribe();
  await rt.stop();
  return done.state === 'success' ? 'success' : 'failed';
}
