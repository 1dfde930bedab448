/**
 * Guarded transitions stay exclusive under concurrency on the test server. FerretDB v1 does not
 * apply findOneAndUpdate / updateOne atomically (it reads, then writes the whole document), so
 * without the per-document locks of AtomicUpdater 100 concurrent claims of 50 rows returned 100
 * "winners". These tests pin the guarantee the scheduler and workers rely on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { taskSpecsOf } from '../../../src/scheduler/task-specs.ts';
import { TaskInstanceTransitions } from '../../../src/store/transitions/task-instance-transitions.ts';
import { createHarness, type Harness } from './harness.ts';

const dag = new DAG({ dagId: 'atomic' }, () => {
  for (let i = 0; i < 20; i++) task(`t${i}`, () => i);
});
let h: Harness;

beforeAll(async () => {
  h = await createHarness('atomic', [dag]);
});
afterAll(async () => {
  await h?.close();
});

describe('guarded transitions under concurrency', () => {
  it('40 concurrent claims of 20 queued task instances: each claimed exactly once', async () => {
    const run = await h.trigger('atomic', 'claims');
    await h.tis.createForRun(run, taskSpecsOf(dag));
    for (const id of dag.taskIds) await h.tis.queueFromNone(`atomic|claims|${id}`);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => h.tis.claim({ workerId: `w${i % 4}`, hostname: 'h', pid: i, leaseMs: 30_000 })));
    const won = results.filter((r) => r !== null).map((r) => r!._id);
    expect(won).toHaveLength(20);
    expect(new Set(won).size).toBe(20);
    // Every row's lease token is the one its claimer got back.
    const rows = await h.store.taskInstances.find({ run_id: 'claims' }).toArray();
    const tokens = new Map(results.filter((r) => r !== null).map((r) => [r!._id, r!.lease_token]));
    expect(rows.every((r) => r.state === 'running' && r.try_number === 1 && tokens.get(r._id) === r.lease_token)).toBe(true);
  });

  it('8 concurrent batched claims of 5 rows each over 20 queued task instances: each claimed exactly once', async () => {
    const run = await h.trigger('atomic', 'batch_claims');
    await h.tis.createForRun(run, taskSpecsOf(dag));
    for (const id of dag.taskIds) await h.tis.queueFromNone(`atomic|batch_claims|${id}`);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h.tis.claimMany({ workerId: `w${i}`, hostname: 'h', pid: i, leaseMs: 30_000, limit: 5 })),
    );
    const won = results.flat();
    expect(new Set(won.map((r) => r._id)).size).toBe(won.length);
    const rows = await h.store.taskInstances.find({ run_id: 'batch_claims' }).toArray();
    const claimedRows = rows.filter((r) => r.state === 'running');
    // Every running row is one a claimer was told it won, with the lease token it got.
    expect(claimedRows.map((r) => r._id).sort()).toEqual(won.map((r) => r._id).sort());
    const tokens = new Map(won.map((r) => [r._id, r.lease_token]));
    expect(claimedRows.every((r) => r.try_number === 1 && tokens.get(r._id) === r.lease_token)).toBe(true);
    // Losers left their rows queued for a later claim.
    expect(rows.filter((r) => r.state === 'queued')).toHaveLength(20 - won.length);
    await h.store.taskInstances.deleteMany({ run_id: 'batch_claims' });
  });

  it('two schedulers queueing the same rows at once (version-guarded batch): each row is queued once', async () => {
    const run = await h.trigger('atomic', 'batch_queue');
    await h.tis.createForRun(run, taskSpecsOf(dag));
    const rows = await h.store.taskInstances.find({ run_id: 'batch_queue' }).toArray();
    // Two schedulers: two writers.
    const sa = new TaskInstanceTransitions(h.store, undefined, { writerId: 'sa' });
    const sb = new TaskInstanceTransitions(h.store, undefined, { writerId: 'sb' });
    const [a, b] = await Promise.all([sa.queueMany(rows, { schedulerId: 'sa' }), sb.queueMany(rows, { schedulerId: 'sb' })]);
    const winners = [...a.after, ...b.after].filter((x) => x !== null);
    expect(winners).toHaveLength(rows.length);
    expect(new Set(winners.map((w) => w!._id)).size).toBe(rows.length);
    const after = await h.store.taskInstances.find({ run_id: 'batch_queue' }).toArray();
    expect(after.every((r) => r.state === 'queued' && r.version === 1)).toBe(true);
    // Each row's stamp names the scheduler whose write won it.
    const byId = new Map(winners.map((w) => [w!._id, w!.queued_by_job_id]));
    expect(after.every((r) => byId.get(r._id) === r.queued_by_job_id && r.changed_by === r.queued_by_job_id)).toBe(true);
    // The loser of each row learned its current state from the read-back.
    for (const [i, row] of rows.entries()) {
      const loser = a.after[i] ? b : a;
      expect(loser.current.get(row._id)?.state).toBe('queued');
    }
    await h.store.taskInstances.deleteMany({ run_id: 'batch_queue' });
  });

  it('20 concurrent identical transitions of one row: exactly one wins', async () => {
    const run = await h.trigger('atomic', 'single');
    await h.tis.createForRun(run, taskSpecsOf(dag, ['t0']));
    const results = await Promise.all(Array.from({ length: 20 }, () => h.tis.schedule('atomic|single|t0')));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect((await h.ti('atomic', 'single', 't0')).version).toBe(1);
  });

  it('a reaped zombie is not resurrected by a racing lease renewal', async () => {
    const run = await h.trigger('atomic', 'zombie');
    await h.tis.createForRun(run, taskSpecsOf(dag, ['t1']));
    await h.tis.queueFromNone('atomic|zombie|t1');
    const claimed = (await h.tis.claim({ workerId: 'w', hostname: 'h', pid: 1, leaseMs: -1 }))!;
    expect(claimed._id).toBe('atomic|zombie|t1');
    const [reaped, renewed] = await Promise.all([h.tis.reapZombie(claimed, new Date(), 'zombie'), h.tis.heartbeat(claimed._id, claimed.lease_token!, 30_000)]);
    const row = await h.ti('atomic', 'zombie', 't1');
    // Either order is fine, but the row must agree with the winner.
    if (reaped) {
      expect(row.state).toBe('failed'); // retries: 0
      expect(row.lease_token).toBeNull();
    } else {
      expect(renewed).toBe(true);
      expect(row.state).toBe('running');
    }
  });
});
