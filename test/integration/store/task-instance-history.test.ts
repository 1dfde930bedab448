/**
 * Per-try history written by the guarded transitions themselves (no extra round trip): a try that
 * deferred twice keeps both windows and what it waited on after it finished; a retry, a zombie
 * reap, a clear and a mark each record the try they end; the try's first queued time survives
 * the resume's re-queue. Runs on the test server (and, as a conformance test, on FerretDB).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../../src/store/store.ts';
import { triesOf } from '../../../src/store/task-instance-history.ts';
import type { DagDoc, TaskInstanceDoc } from '../../../src/store/schema.ts';
import { Driver, closeTestStore, openTestStore, seedDag, taskInstanceId } from '../../api/helpers.ts';

let store: Store;
let d: Driver;
let dag: DagDoc;

beforeAll(async () => {
  store = await openTestStore('ti_history');
  d = new Driver(store);
  dag = await seedDag(store, 'hist', { train: [], other: [] });
});

afterAll(async () => {
  await closeTestStore(store);
});

const read = async (runId: string, taskId: string): Promise<TaskInstanceDoc> =>
  (await store.taskInstances.findOne({ _id: taskInstanceId('hist', runId, taskId) }))!;

describe('task instance history', () => {
  it('keeps every deferral window of a finished try, with what it waited on, and the first queued time', async () => {
    await d.createRun(dag, 'r1', new Date('2025-01-01T00:00:00Z'));
    const first = await d.defer('hist', 'r1', 'train', 'job-a');
    const queuedAt = (await read('r1', 'train')).queued_dttm!;
    expect((await read('r1', 'train')).try_queued_at?.getTime()).toBe(queuedAt.getTime());
    // The trigger fires, a worker resumes the task and it defers again on another job.
    expect(await d.tis.resumeFromTrigger(first.triggerId, { status: 'Completed' })).not.toBeNull();
    await d.triggers.delete(first.triggerId, 'fired');
    await new Promise((r) => setTimeout(r, 5)); // the re-queue must be later than the first queue
    const second = await d.defer('hist', 'r1', 'train', 'job-b');
    const deferredTwice = await read('r1', 'train');
    expect(deferredTwice.queued_dttm!.getTime()).toBeGreaterThan(queuedAt.getTime());
    expect(deferredTwice.try_deferrals).toHaveLength(1);
    await d.resumeAndFinish(second.triggerId);

    const done = await read('r1', 'train');
    expect(done.state).toBe('success');
    expect(done.tries).toHaveLength(1);
    const t = done.tries![0]!;
    expect(t).toMatchObject({ try_number: 1, state: 'success', hostname: 'test-host', ended_by: 'worker' });
    expect(t.queued_at!.getTime()).toBe(queuedAt.getTime());
    expect(t.queued_at!.getTime()).toBeLessThanOrEqual(t.start_date!.getTime());
    expect(t.deferrals.map((w) => w.trigger?.description)).toEqual(['training job job-a', 'training job job-b']);
    for (const w of t.deferrals) {
      expect(w.resumed_by).toBe('event');
      expect(w.to!.getTime()).toBeGreaterThanOrEqual(w.from.getTime());
    }
    expect(t.deferrals[0]!.to!.getTime()).toBeLessThanOrEqual(t.deferrals[1]!.from.getTime());
    // Nothing of the try is left on the row for the next one.
    expect(done.try_deferrals).toEqual([]);
    expect(done.deferral_trigger).toBeNull();
    // Readers see the same try once.
    expect(triesOf(done).map((x) => [x.try_number, x.state, x.current])).toEqual([[1, 'success', true]]);
  });

  it('records a failed try before its retry, and a try a user cleared while it was deferred', async () => {
    await d.createRun(dag, 'r2', new Date('2025-01-02T00:00:00Z'));
    const ti = await d.start('hist', 'r2', 'train');
    const retried = await d.tis.finish(
      ti,
      (await read('r2', 'train')).lease_token!,
      { state: 'up_for_retry', error: 'boom', retryAt: new Date() },
      { heldMs: 1 },
    );
    expect(retried?.tries?.[0]).toMatchObject({ try_number: 1, state: 'up_for_retry', last_error: 'boom' });
    await d.tis.retryReady(ti._id, 'up_for_retry');
    await d.defer('hist', 'r2', 'train', 'job-c');
    const before = await read('r2', 'train');
    expect(before.try_number).toBe(2);
    // Clearing a deferred try ends it: it is recorded with its open window closed at the clear.
    expect(await d.tis.clearAndDropTrigger(before._id, 1)).not.toBeNull();
    const cleared = await read('r2', 'train');
    expect(cleared.tries!.map((t) => [t.try_number, t.state, t.ended_by])).toEqual([
      [1, 'up_for_retry', 'worker'],
      [2, 'deferred', 'clear'],
    ]);
    const w = cleared.tries![1]!.deferrals[0]!;
    expect(w).toMatchObject({ resumed_by: null, trigger: { description: 'training job job-c' } });
    expect(w.to).not.toBeNull();
    expect(cleared.deferred_at).toBeNull();
    // A clear of a row whose try already ended records nothing more.
    expect(await d.tis.clear(cleared._id, 1)).not.toBeNull();
    expect((await read('r2', 'train')).tries).toHaveLength(2);
  });

  it('records a try marked by hand while running, and keeps a later mark on the current try', async () => {
    await d.createRun(dag, 'r3', new Date('2025-01-03T00:00:00Z'));
    await d.start('hist', 'r3', 'other');
    await d.tis.markState(taskInstanceId('hist', 'r3', 'other'), 'failed');
    const marked = await read('r3', 'other');
    expect(marked.tries!.map((t) => [t.try_number, t.state, t.ended_by])).toEqual([[1, 'failed', 'mark']]);
    await d.tis.markState(marked._id, 'success');
    const remarked = await read('r3', 'other');
    expect(remarked.tries).toHaveLength(1);
    expect(triesOf(remarked).map((t) => [t.try_number, t.state])).toEqual([[1, 'success']]);
  });

  it('records a zombie try reaped by the scheduler', async () => {
    await d.createRun(dag, 'r4', new Date('2025-01-04T00:00:00Z'));
    const ti = await d.start('hist', 'r4', 'other');
    await store.taskInstances.updateOne({ _id: ti._id }, { $set: { lease_expires_at: new Date(Date.now() - 1000) } });
    const reaped = await d.tis.reapZombie((await read('r4', 'other'))!, new Date(), 'worker vanished');
    expect(reaped?.tries?.[0]).toMatchObject({ try_number: 1, state: 'up_for_retry', last_error: 'worker vanished', ended_by: 'zombie_reaper' });
  });
});
