/**
 * deleteDag (src/app/use-cases/delete-dag.ts) on the real store: everything a DAG owns goes —
 * runs, task instances, triggers (announced on the bus), XComs, task logs, serialized versions,
 * the import error of a file no other DAG comes from, the DAG row — and nothing of another DAG;
 * refused while a task of it runs; null for a DAG that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppContext } from '../../../src/app/app-context.ts';
import { deleteDag } from '../../../src/app/use-cases/delete-dag.ts';
import { XComRepository } from '../../../src/store/repositories/xcom-repository.ts';
import { DagVersionRepository } from '../../../src/store/repositories/dag-version-repository.ts';
import { StateChangeBus, type StateChange } from '../../../src/store/state-change-bus.ts';
import type { Store } from '../../../src/store/store.ts';
import { Driver, closeTestStore, openTestStore, seedDag } from '../../api/helpers.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('delete_dag');
});
afterAll(async () => closeTestStore(store));

const counts = async (dagId: string) => ({
  dags: await store.dags.countDocuments({ _id: dagId }),
  runs: await store.dagRuns.countDocuments({ dag_id: dagId }),
  tis: await store.taskInstances.countDocuments({ dag_id: dagId }),
  triggers: await store.triggers.countDocuments({ dag_id: dagId }),
  xcom: await store.xcom.countDocuments({ dag_id: dagId }),
  logs: await store.taskLogs.countDocuments({ dag_id: dagId }),
  versions: await store.dagVersions.countDocuments({ dag_id: dagId }),
});

describe('deleteDag', () => {
  it('deletes the DAG and everything it owns, and nothing of other DAGs', async () => {
    const bus = new StateChangeBus();
    const seen: StateChange[] = [];
    bus.changes$.subscribe((c) => seen.push(c));
    const d = new Driver(store, bus);
    const doomed = await seedDag(store, 'doomed', { extract: ['train'], train: [] }, { fileloc: '/dags/shared.ts' });
    const keeper = await seedDag(store, 'keeper', { a: [] }, { fileloc: '/dags/keeper.ts' });
    await seedDag(store, 'sibling', { s: [] }, { fileloc: '/dags/sibling_file.ts' });
    for (const dagId of ['doomed', 'keeper']) {
      await new DagVersionRepository(store).record([{ dagId, version: 'v1', fileloc: `/dags/${dagId}.ts`, sourceHash: null, serialized: '{}' }]);
    }
    await store.importErrors.insertOne({ _id: '/dags/shared.ts', filename: '/dags/shared.ts', stacktrace: 'boom', timestamp: new Date() });
    await store.importErrors.insertOne({ _id: '/dags/keeper.ts', filename: '/dags/keeper.ts', stacktrace: 'boom', timestamp: new Date() });

    await d.createRun(doomed, 'r1', new Date('2025-04-09T00:00:00Z'));
    await d.createRun(doomed, 'r2', new Date('2025-04-10T00:00:00Z'));
    const extracted = await d.run('doomed', 'r1', 'extract');
    await new XComRepository(store).push(extracted, 'return_value', [1, 2, 3]);
    await d.log(extracted, 1, ['line 1', 'line 2']);
    const { triggerId } = await d.defer('doomed', 'r1', 'train', 'job-r1');
    await d.createRun(keeper, 'k1', new Date('2025-04-09T00:00:00Z'));
    const kept = await d.run('keeper', 'k1', 'a');
    await new XComRepository(store).push(kept, 'return_value', 'mine');
    await d.log(kept, 1, ['keeper line']);
    const keeperBefore = await counts('keeper');

    const r = await deleteDag(new AppContext({ store, bus }), 'doomed');
    expect(r).toEqual({ dagId: 'doomed', deleted: { dagRuns: 2, taskInstances: 4, xcom: 1, taskLogs: 2, triggers: 1 } });
    expect(await counts('doomed')).toEqual({ dags: 0, runs: 0, tis: 0, triggers: 0, xcom: 0, logs: 0, versions: 0 });
    // An in-process triggerer learns that the trigger it may hold is gone.
    expect(seen.some((c) => c.kind === 'trigger' && c.trigger_id === triggerId && c.action === 'deleted')).toBe(true);
    // The import error of its file concerned it alone; another DAG's stays.
    expect(await store.importErrors.countDocuments({ _id: '/dags/shared.ts' })).toBe(0);
    expect(await store.importErrors.countDocuments({ _id: '/dags/keeper.ts' })).toBe(1);
    expect(await counts('keeper')).toEqual(keeperBefore);
    expect(await store.dags.countDocuments({ _id: 'sibling' })).toBe(1);
  });

  it('keeps the import error of a file another DAG still comes from', async () => {
    await seedDag(store, 'twin_a', { a: [] }, { fileloc: '/dags/twins.ts' });
    await seedDag(store, 'twin_b', { b: [] }, { fileloc: '/dags/twins.ts' });
    await store.importErrors.insertOne({ _id: '/dags/twins.ts', filename: '/dags/twins.ts', stacktrace: 'boom', timestamp: new Date() });
    expect(await deleteDag(new AppContext({ store }), 'twin_a')).toEqual({
      dagId: 'twin_a',
      deleted: { dagRuns: 0, taskInstances: 0, xcom: 0, taskLogs: 0, triggers: 0 },
    });
    expect(await store.importErrors.countDocuments({ _id: '/dags/twins.ts' })).toBe(1);
    await deleteDag(new AppContext({ store }), 'twin_b');
    expect(await store.importErrors.countDocuments({ _id: '/dags/twins.ts' })).toBe(0);
  });

  it('deletes the runs of a DAG whose row is already gone (a delete that stopped half-way runs again)', async () => {
    const d = new Driver(store);
    const orphan = await seedDag(store, 'orphan', { x: [] });
    await d.createRun(orphan, 'o1', new Date('2025-04-09T00:00:00Z'));
    await store.dags.deleteOne({ _id: 'orphan' });
    expect(await deleteDag(new AppContext({ store }), 'orphan')).toEqual({
      dagId: 'orphan',
      deleted: { dagRuns: 1, taskInstances: 1, xcom: 0, taskLogs: 0, triggers: 0 },
    });
    expect(await deleteDag(new AppContext({ store }), 'orphan')).toBeNull();
  });

  it('is null for a DAG that does not exist', async () => {
    expect(await deleteDag(new AppContext({ store }), 'never_was')).toBeNull();
  });

  it('refuses while a task of the DAG is running, as Airflow does, and deletes nothing', async () => {
    const d = new Driver(store);
    const busy = await seedDag(store, 'busy', { work: [] });
    await d.createRun(busy, 'b1', new Date('2025-04-09T00:00:00Z'));
    await d.start('busy', 'b1', 'work');
    await expect(deleteDag(new AppContext({ store }), 'busy')).rejects.toMatchObject({
      code: 'STATE_CONFLICT',
      message: expect.stringContaining('work in b1'),
    });
    expect(await counts('busy')).toMatchObject({ dags: 1, runs: 1, tis: 1 });
  });
});
