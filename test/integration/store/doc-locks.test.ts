/**
 * The per-document lock path (AtomicUpdater with locks, what deferflow runs on FerretDB v1),
 * forced on whatever server the suite runs on. A process killed while holding a lock must not
 * starve a queued task: its expired lock is taken over on the first busy encounter, and claims
 * walk candidates in the caller's order (priority, then FIFO) rather than from a random start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { DOC_LOCKS_COLLECTION, type DocLockDoc } from '../../../src/store/schema.ts';
import { taskSpecsOf } from '../../../src/scheduler/task-specs.ts';
import { createHarness, type Harness } from '../scheduler/harness.ts';

const dag = new DAG({ dagId: 'locks' }, () => {
  for (let i = 0; i < 40; i++) task(`t${String(i).padStart(2, '0')}`, () => i);
});
let h: Harness;
const forcedBefore = process.env.DEFERFLOW_DOC_LOCKS;

beforeAll(async () => {
  process.env.DEFERFLOW_DOC_LOCKS = '1';
  h = await createHarness('doc_locks', [dag]);
});
afterAll(async () => {
  if (forcedBefore === undefined) delete process.env.DEFERFLOW_DOC_LOCKS;
  else process.env.DEFERFLOW_DOC_LOCKS = forcedBefore;
  await h?.close();
});

/** A fresh run whose 40 tasks are queued in task order; nothing else is queued. */
async function queueAll(runId: string): Promise<string[]> {
  await h.store.taskInstances.deleteMany({});
  const run = await h.trigger('locks', runId);
  await h.tis.createForRun(run, taskSpecsOf(dag));
  const ids: string[] = [];
  const base = Date.now();
  for (const [i, id] of dag.taskIds.entries()) {
    await h.tis.queueFromNone(`locks|${runId}|${id}`);
    // Distinct queue times even when two writes land in the same millisecond.
    await h.store.taskInstances.updateOne({ _id: `locks|${runId}|${id}` }, { $set: { queued_dttm: new Date(base + i) } });
    ids.push(`locks|${runId}|${id}`);
  }
  return ids;
}

describe('per-document locks (FerretDB path)', () => {
  it('claims take queued tasks in FIFO order', async () => {
    const ids = await queueAll('fifo');
    const claimed: string[] = [];
    for (let i = 0; i < 5; i++) claimed.push((await h.tis.claim({ workerId: 'w', hostname: 'h', pid: 1, leaseMs: 30_000 }))!._id);
    expect(claimed).toEqual(ids.slice(0, 5));
  });

  it('an expired lock left by a dead process on the oldest task is taken over by the very next claim', async () => {
    const ids = await queueAll('stale');
    const oldest = ids[0]!;
    const locks = h.store.db.collection<DocLockDoc>(DOC_LOCKS_COLLECTION);
    await locks.insertOne({ _id: `task_instances:${oldest}`, holder: 'killed-process', expires_at: new Date(Date.now() - 1_000) });
    const first = await h.tis.claim({ workerId: 'w', hostname: 'h', pid: 1, leaseMs: 30_000 });
    expect(first?._id).toBe(oldest);
    // The lock was released after the write, not left behind with our token.
    expect(await locks.findOne({ _id: `task_instances:${oldest}` })).toBeNull();
  });

  it('a live lock is respected: the claim skips to the next task and the locked one stays queued', async () => {
    const ids = await queueAll('live');
    const locks = h.store.db.collection<DocLockDoc>(DOC_LOCKS_COLLECTION);
    await locks.insertOne({ _id: `task_instances:${ids[0]}`, holder: 'busy-writer', expires_at: new Date(Date.now() + 60_000) });
    const first = await h.tis.claim({ workerId: 'w', hostname: 'h', pid: 1, leaseMs: 30_000 });
    expect(first?._id).toBe(ids[1]);
    expect((await h.store.taskInstances.findOne({ _id: ids[0] }))?.state).toBe('queued');
    await locks.deleteOne({ _id: `task_instances:${ids[0]}` });
  });
});
