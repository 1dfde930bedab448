/**
 * DagBag.syncToStore and the repositories against the real test server: dags upsert keeps
 * is_paused and the timetable cursor, vanished DAGs go inactive (not those of broken files),
 * import errors are replaced; XCom / variable / job repositories; the task log sink masks secrets,
 * batches and continues a resumed try's sequence.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { DagBag } from '../../../src/dag-processing/dag-bag.ts';
import { TaskLogSink } from '../../../src/log/task-log-sink.ts';
import { setSecretMasker } from '../../../src/log/secret-masker.ts';
import { DagRepository } from '../../../src/store/repositories/dag-repository.ts';
import { JobRepository } from '../../../src/store/repositories/job-repository.ts';
import { TaskLogRepository } from '../../../src/store/repositories/task-log-repository.ts';
import { VariableRepository } from '../../../src/store/repositories/variable-repository.ts';
import { XComRepository } from '../../../src/store/repositories/xcom-repository.ts';
import { createHarness, type Harness } from './harness.ts';

const FOLDER = fileURLToPath(new URL('../../fixtures/dags', import.meta.url));
let h: Harness;

beforeAll(async () => {
  h = await createHarness('store_sync', []);
});
afterAll(async () => {
  setSecretMasker(null);
  await h?.close();
});

describe('DagBag.syncToStore', () => {
  it('upserts DAGs, keeps user state, deactivates vanished DAGs and replaces import errors', async () => {
    const bag = await DagBag.load(FOLDER);
    await bag.syncToStore(h.store);
    const repo = new DagRepository(h.store);
    const etl = await repo.require('fixture_etl');
    expect(etl).toMatchObject({ is_active: true, is_paused: false, schedule: '@daily', fileloc: `${FOLDER}/good_etl.ts` });
    expect(etl.tasks.map((t) => t.task_id)).toEqual(['extract', 'transform', 'load']);
    expect(etl.tasks[1]).toMatchObject({ upstream_task_ids: ['extract'], downstream_task_ids: ['load'], retries: 2, operator: '@task' });
    expect((await repo.require('fixture_manual')).is_paused).toBe(true); // isPausedUponCreation
    expect((await repo.listImportErrors()).map((e) => e.filename.slice(FOLDER.length + 1)).sort()).toEqual([
      'bad_schedule.ts',
      'broken_syntax.ts',
      'cycle.ts',
      'duplicate_task.ts',
      'nested/unknown_upstream.ts',
    ]);

    // User pauses a DAG and the scheduler advanced its cursor: a re-sync keeps both.
    await repo.pause('fixture_etl', true);
    const interval = { start: new Date('2025-01-01T00:00:00Z'), end: new Date('2025-01-02T00:00:00Z') };
    expect(await repo.advanceCursor('fixture_etl', null, interval, { logicalDate: null, createAfter: null })).toBe(true);
    // A stale cursor write (expected value no longer there) does nothing.
    expect(await repo.advanceCursor('fixture_etl', null, interval, { logicalDate: null, createAfter: null })).toBe(false);
    await bag.syncToStore(h.store);
    const again = await repo.require('fixture_etl');
    expect(again.is_paused).toBe(true);
    expect(again.last_automated_data_interval_end?.toISOString()).toBe('2025-01-02T00:00:00.000Z');

    // A bag without those DAGs (files deleted): they go inactive; import errors are replaced.
    const other = DagBag.fromDags([new DAG({ dagId: 'only_one' }, () => void task('t', () => 1))]);
    await other.syncToStore(h.store);
    expect((await repo.list({ activeOnly: true })).map((d) => d._id)).toEqual(['only_one']);
    expect(await repo.listImportErrors()).toEqual([]);
  });
});

describe('repositories', () => {
  it('XComs: push/pull JSON-safe values, list per run, delete', async () => {
    const x = new XComRepository(h.store);
    const owner = { dag_id: 'd', run_id: 'r', task_id: 't' };
    await x.push(owner, 'return_value', { at: new Date('2025-01-01T00:00:00Z'), big: 10n, tags: new Set(['a']), 'a.b': { $weird: 1 } });
    expect(await x.pull('d', 'r', 't')).toEqual({ at: '2025-01-01T00:00:00.000Z', big: '10', tags: ['a'], 'a.b': { $weird: 1 } });
    await x.push(owner, 'return_value', 2);
    expect(await x.pull('d', 'r', 't')).toBe(2);
    await x.push({ ...owner, task_id: 'u' }, 'k', 'v');
    expect((await x.listForRun('d', 'r')).map((d) => `${d.task_id}/${d.key}`).sort()).toEqual(['t/return_value', 'u/k']);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(x.push(owner, 'bad', circular)).rejects.toThrow(/not JSON-serialisable/);
    expect(await x.deleteForTaskInstance(owner)).toBe(1);
    expect(await x.pull('d', 'r', 't')).toBeUndefined();
  });

  it('variables: set/get/getJson/list/delete', async () => {
    const v = new VariableRepository(h.store);
    await v.set('plain', 'hello');
    await v.set('cfg', { bucket: 's3://x', n: 2 }, 'the config');
    expect(await v.get('plain')).toBe('hello');
    expect(await v.getJson('cfg')).toEqual({ bucket: 's3://x', n: 2 });
    await expect(v.getJson('plain')).rejects.toThrow(/not valid JSON/);
    expect((await v.list()).map((d) => d.key)).toEqual(['cfg', 'plain']);
    expect(await v.all()).toEqual({ cfg: '{"bucket":"s3://x","n":2}', plain: 'hello' });
    await expect(v.require('missing')).rejects.toMatchObject({ code: 'VARIABLE_NOT_FOUND' });
    expect(await v.require('missing', 'dflt')).toBe('dflt');
    expect(await v.delete('plain')).toBe(true);
    expect(await v.get('plain')).toBeUndefined();
  });

  it('jobs: register, heartbeat, alive by threshold, stop', async () => {
    const jobs = new JobRepository(h.store);
    const old = new Date(Date.now() - 60_000);
    const a = await jobs.register('WorkerJob', { capacity: 8 });
    const b = await jobs.register('WorkerJob', { now: old });
    expect((await jobs.alive('WorkerJob', 10_000)).map((j) => j._id)).toEqual([a._id]);
    expect(await jobs.heartbeat(b._id, { load: 3 })).toBe(true);
    expect((await jobs.alive('WorkerJob', 10_000)).map((j) => j._id).sort()).toEqual([a._id, b._id].sort());
    await jobs.markStopped(a._id);
    expect(await jobs.heartbeat(a._id)).toBe(false);
    expect((await jobs.get(b._id))?.load).toBe(3);
  });
});

describe('task log sink', () => {
  it('masks secrets, stores lines at close, and continues the sequence of a resumed try', async () => {
    setSecretMasker((s) => s.replaceAll('hunter2', '***'));
    const repo = new TaskLogRepository(h.store);
    const ti = { _id: 'd|r|t', dag_id: 'd', run_id: 'r', task_id: 't' };
    const first = new TaskLogSink({ repo, parent: h.logger, ti, tryNumber: 1, flushIntervalMs: 60_000 });
    first.logger.info('password is hunter2');
    first.logger.warn({ rows: 3 }, 'loaded');
    first.logger.error(new Error('bad hunter2'), 'failed');
    expect(await repo.read(ti._id, 1)).toEqual([]); // batched: nothing written yet
    await first.close();
    const lines = await repo.read(ti._id, 1);
    expect(lines.map((l) => [l.seq, l.level])).toEqual([
      [0, 'info'],
      [1, 'warn'],
      [2, 'error'],
    ]);
    expect(lines[0].msg).toBe('password is ***');
    expect(lines[1].msg).toBe('loaded {"rows":3}');
    expect(lines[2].msg).toContain('Error: bad ***');
    expect(lines.map((l) => l.msg).join('')).not.toContain('hunter2');

    const resumed = new TaskLogSink({ repo, parent: h.logger, ti, tryNumber: 1, lastSeq: await repo.lastSeq(ti._id, 1) });
    resumed.logger.info('resumed');
    await resumed.close();
    expect((await repo.read(ti._id, 1, { afterSeq: 2 })).map((l) => [l.seq, l.msg])).toEqual([[3, 'resumed']]);
    expect(await repo.clearForTry(ti._id, 1)).toBe(4);
  });
});
