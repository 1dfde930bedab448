/**
 * The use-cases of src/app against the real store: triggering a run (the one implementation behind
 * Runtime, API and CLI), clearing with the graph walk and retries granted again, and the change
 * feed's waits and scopes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom, filter, toArray, take, timeout } from 'rxjs';
import { DAG } from '../../../src/dag/dag.ts';
import { task } from '../../../src/dag/function-task.ts';
import { DagBag } from '../../../src/dag-processing/dag-bag.ts';
import { AppContext } from '../../../src/app/app-context.ts';
import { triggerDagRun } from '../../../src/app/use-cases/trigger-dag-run.ts';
import { clearTaskInstances, selectTaskInstancesToClear } from '../../../src/app/use-cases/clear-task-instances.ts';
import { waitForRunEnd, watchRun } from '../../../src/app/use-cases/watch-changes.ts';
import { StateChangeBus } from '../../../src/store/state-change-bus.ts';
import type { Store } from '../../../src/store/store.ts';
import type { DagDoc } from '../../../src/store/schema.ts';
import type { FeedChange } from '../../../src/store/changes/feed-change.ts';
import { Driver, closeTestStore, openTestStore, seedDag, taskInstanceId } from '../../api/helpers.ts';

let store: Store;
let etl: DagDoc;
const definition = new DAG({ dagId: 'defined', schedule: '@daily', startDate: '2025-01-01' }, () => {
  const a = task('a', async () => 1);
  const b = task('b', async () => 2, { retries: 2 });
  a.then(b);
});

beforeAll(async () => {
  store = await openTestStore('app_use_cases');
  etl = await seedDag(store, 'etl', { extract: ['train'], train: ['report'], report: [] }, { schedule: '@daily' });
  await DagBag.fromDags([definition]).syncToStore(store);
});
afterAll(async () => closeTestStore(store));

describe('triggerDagRun', () => {
  it('creates the run and, with the definition at hand, its task instances (as Airflow does)', async () => {
    const app = new AppContext({ store, dags: DagBag.fromDags([definition]) });
    const run = await triggerDagRun(app, { dagId: 'defined', logicalDate: new Date('2025-04-09T00:00:00Z'), conf: { x: 1 }, note: 'n' });
    expect(run).toMatchObject({ run_id: 'manual__2025-04-09T00:00:00+00:00', state: 'queued', run_type: 'manual', external_trigger: true, note: 'n' });
    expect(run.data_interval_start.toISOString()).toBe('2025-04-08T00:00:00.000Z');
    const tis = await store.taskInstances.find({ run_id: run.run_id }).sort({ task_id: 1 }).toArray();
    expect(tis.map((t) => [t.task_id, t.state, t.max_tries])).toEqual([
      ['a', null, 0],
      ['b', null, 2],
    ]);
  });

  it('without the definition, works from the stored DAG and leaves the task instances to the scheduler', async () => {
    const run = await triggerDagRun(new AppContext({ store }), { dagId: 'etl', runId: 'from_api' });
    expect(run.run_id).toBe('from_api');
    expect(await store.taskInstances.countDocuments({ run_id: 'from_api' })).toBe(0);
  });

  it('creates only the tasks asked for (tasks test)', async () => {
    const app = new AppContext({ store, dags: DagBag.fromDags([definition]) });
    const run = await triggerDagRun(app, { dagId: 'defined', runId: 'only_b', onlyTasks: ['b'] });
    expect((await store.taskInstances.find({ run_id: run.run_id }).toArray()).map((t) => t.task_id)).toEqual(['b']);
  });

  it('refuses a run id that is not a run id and a DAG nobody knows, saying what to fix', async () => {
    const app = new AppContext({ store });
    await expect(triggerDagRun(app, { dagId: 'etl', runId: 'a|b' })).rejects.toMatchObject({ code: 'INVALID_INPUT', message: /letters, digits or '_.:\+-~'/ });
    await expect(triggerDagRun(app, { dagId: 'nope' })).rejects.toMatchObject({ code: 'DAG_NOT_FOUND' });
    await expect(triggerDagRun(app, { dagId: 'etl', runId: 'from_api' })).rejects.toMatchObject({ code: 'DAG_RUN_EXISTS' });
  });
});

describe('clear', () => {
  it('selects by task pattern with downstream, clears with retries granted again, drops the trigger and requeues the run', async () => {
    const d = new Driver(store);
    await d.createRun(etl, 'c1', new Date('2024-01-01T00:00:00Z'));
    await d.run('etl', 'c1', 'extract');
    const { triggerId } = await d.defer('etl', 'c1', 'train', 'job-c1');
    const app = new AppContext({ store });
    const { dag, tis } = await selectTaskInstancesToClear(app, { dagId: 'etl', runId: 'c1', taskIdPattern: /^tra/, includeDownstream: true });
    expect(tis.map((t) => t.task_id)).toEqual(['report', 'train']);
    const cleared = await clearTaskInstances(app, dag, tis, { resetDagRuns: true });
    expect(cleared.map((t) => [t.task_id, t.state])).toEqual([
      ['report', null],
      ['train', 'deferred'],
    ]);
    const train = (await store.taskInstances.findOne({ _id: taskInstanceId('etl', 'c1', 'train') }))!;
    expect(train.state).toBeNull();
    expect(train.max_tries).toBe(train.try_number + 1);
    expect(await store.triggers.findOne({ _id: triggerId })).toBeNull();
    expect((await store.dagRuns.findOne({ dag_id: 'etl', run_id: 'c1' }))!).toMatchObject({ state: 'queued', clear_number: 1 });
    expect((await store.taskInstances.findOne({ _id: taskInstanceId('etl', 'c1', 'extract') }))!.state).toBe('success');
  });
});

describe('watching changes', () => {
  it('a run-scoped feed sees its run once per change, from the bus and from other processes, and nothing of other runs', async () => {
    const bus = new StateChangeBus();
    const here = new Driver(store, bus);
    const elsewhere = new Driver(store); // no bus: like another process
    await here.createRun(etl, 'w1', new Date('2024-02-01T00:00:00Z'));
    await here.createRun(etl, 'w2', new Date('2024-02-02T00:00:00Z'));
    const feed = watchRun(new AppContext({ store, bus }), 'etl', 'w1', { pollMs: 50 });
    const seen: FeedChange[] = [];
    const sub = feed.changes$.subscribe((c) => seen.push(c));
    await here.run('etl', 'w1', 'extract'); // bus
    await elsewhere.run('etl', 'w2', 'extract'); // another run: never seen
    const remote = await elsewhere.start('etl', 'w1', 'train'); // poll
    const running = await firstValueFrom(
      feed.changes$.pipe(
        filter((c) => c.kind === 'task_instance' && c.ti._id === remote._id && c.ti.state === 'running'),
        timeout(10_000),
      ),
    );
    expect(running.origin).toBe('poll');
    await new Promise((r) => setTimeout(r, 300)); // more polls over the same window
    sub.unsubscribe();
    feed.complete();
    const tiChanges = seen.filter((c) => c.kind === 'task_instance');
    expect(tiChanges.every((c) => c.kind === 'task_instance' && c.ti.run_id === 'w1')).toBe(true);
    const keys = tiChanges.map((c) => (c.kind === 'task_instance' ? `${c.ti._id}@${c.ti.version}` : ''));
    expect(new Set(keys).size).toBe(keys.length);
    const extract = tiChanges.filter((c) => c.kind === 'task_instance' && c.ti.task_id === 'extract');
    expect(extract.map((c) => c.kind === 'task_instance' && c.ti.state)).toEqual(['scheduled', 'queued', 'running', 'success']);
    expect(extract.every((c) => c.origin === 'local')).toBe(true);
  });

  it('waitForRunEnd resolves when another process finishes the run, and times out with RUN_WAIT_TIMEOUT', async () => {
    const d = new Driver(store);
    const run = await d.createRun(etl, 'w3', new Date('2024-03-01T00:00:00Z'));
    const app = new AppContext({ store });
    const waiting = waitForRunEnd(app, 'etl', 'w3', { timeoutMs: 10_000, pollMs: 50 });
    await d.runs.finish(run._id, 'success');
    expect((await waiting).state).toBe('success');
    // already finished: resolves from the first read
    expect((await waitForRunEnd(app, 'etl', 'w3', { timeoutMs: 10_000, pollMs: 50 })).state).toBe('success');
    await d.createRun(etl, 'w4', new Date('2024-03-02T00:00:00Z'));
    await expect(waitForRunEnd(app, 'etl', 'w4', { timeoutMs: 200, pollMs: 50 })).rejects.toMatchObject({ code: 'RUN_WAIT_TIMEOUT' });
  });

  it('complete() ends every subscriber and a late subscriber ends at once', async () => {
    const feed = watchRun(new AppContext({ store }), 'etl', 'w1', { pollMs: 50 });
    const all = firstValueFrom(feed.changes$.pipe(toArray()));
    feed.complete();
    expect(await all).toEqual([]);
    expect(await firstValueFrom(feed.changes$.pipe(take(1), toArray()))).toEqual([]);
  });
});
