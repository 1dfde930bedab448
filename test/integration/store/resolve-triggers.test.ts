/**
 * TaskInstanceTransitions.resolveTriggers — the batched resume a triggerer writes under an event
 * stream — on the real server: each row of a batch is its own guarded update, so a row resumes at
 * most once whoever races it (two triggerers holding one shard for a moment, a duplicate event, a
 * user's clear), every winner is emitted on the bus exactly once, and no loser is. Also a store
 * conformance test (FerretDB: through the per-document locks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Subscription } from 'rxjs';
import type { Store } from '../../../src/store/store.ts';
import { StateChangeBus } from '../../../src/store/state-change-bus.ts';
import type { DagDoc, TaskInstanceDoc } from '../../../src/store/schema.ts';
import { TaskInstanceTransitions, type TriggerResolution } from '../../../src/store/transitions/task-instance-transitions.ts';
import { Driver, closeTestStore, openTestStore, seedDag, taskInstanceId } from '../../api/helpers.ts';

const TASKS = 12;
let store: Store;
let bus: StateChangeBus;
let d: Driver;
let dag: DagDoc;
let resumes: string[] = [];
let sub: Subscription;
let runSeq = 0;

beforeAll(async () => {
  store = await openTestStore('resolve_triggers');
  bus = new StateChangeBus();
  d = new Driver(store, bus);
  dag = await seedDag(store, 'res', Object.fromEntries(Array.from({ length: TASKS }, (_, i) => [`t${i}`, []])));
  sub = bus.changes$.subscribe((c) => {
    if (c.kind === 'task_instance' && c.previous === 'deferred' && c.ti.state === 'scheduled') resumes.push(c.ti._id);
  });
});

afterAll(async () => {
  sub?.unsubscribe();
  await closeTestStore(store);
});

/** A new run whose first `n` tasks are deferred on a trigger each (through the real transitions). */
async function deferredRun(n: number): Promise<Array<{ ti: TaskInstanceDoc; triggerId: string }>> {
  runSeq += 1;
  const runId = `r${runSeq}`;
  await d.createRun(dag, runId, new Date(Date.UTC(2025, 0, 1) + runSeq * 60_000));
  const out = [];
  for (let i = 0; i < n; i++) out.push(await d.defer('res', runId, `t${i}`, `job-${runId}-${i}`));
  return out;
}

const event = (x: { ti: TaskInstanceDoc; triggerId: string }, by: string): TriggerResolution => ({
  triggerId: x.triggerId,
  tiId: x.ti._id,
  outcome: { type: 'event', payload: { by } },
});

const row = async (id: string) => (await store.taskInstances.findOne({ _id: id }))!;
const countOf = (ids: string[], id: string) => ids.filter((x) => x === id).length;

describe('resolveTriggers (batched resumes)', () => {
  it('writes the rows deferred on their trigger, emits each winner once and answers the others with the row as seen', async () => {
    resumes = [];
    const [a, b, stale, dup] = await deferredRun(4);
    const runId = a!.ti.run_id;
    const running = await d.start('res', runId, 't4'); // mid-deferral: its trigger exists, the defer has not landed
    const results = await d.tis.resolveTriggers([
      event(a!, 'a'),
      { triggerId: b!.triggerId, tiId: b!.ti._id, outcome: { type: 'failure', reason: { kind: 'trigger_timeout', message: 'too late' } } },
      { triggerId: 'trigger-of-an-earlier-deferral', tiId: stale!.ti._id, outcome: { type: 'event', payload: {} } },
      event(dup!, 'first'),
      event(dup!, 'second'),
      { triggerId: 'trigger-not-yet-deferred-on', tiId: running._id, outcome: { type: 'event', payload: {} } },
      { triggerId: 'x', tiId: taskInstanceId('res', runId, 'missing'), outcome: { type: 'event', payload: {} } },
    ]);
    expect(results.map((r) => r.after?._id ?? null)).toEqual([a!.ti._id, b!.ti._id, null, dup!.ti._id, null, null, null]);
    expect(results.map((r) => r.current?.state ?? null)).toEqual(['scheduled', 'scheduled', 'deferred', 'scheduled', 'scheduled', 'running', null]);

    const ra = await row(a!.ti._id);
    expect(ra).toMatchObject({ state: 'scheduled', trigger_id: null, next_method: 'execute_complete', version: a!.ti.version + 1 });
    expect(JSON.parse(ra.trigger_event!)).toEqual({ by: 'a' });
    expect(results[0]!.after).toEqual(ra); // the after-image emitted is the row as stored
    expect(await row(b!.ti._id)).toMatchObject({ state: 'scheduled', next_method: '__fail__', fail_reason: { kind: 'trigger_timeout', message: 'too late' } });
    expect(await row(stale!.ti._id)).toMatchObject({ state: 'deferred', trigger_id: stale!.triggerId, version: stale!.ti.version });
    expect(JSON.parse((await row(dup!.ti._id)).trigger_event!)).toEqual({ by: 'first' });
    expect((await row(running._id)).state).toBe('running');
    expect(resumes.sort()).toEqual([a!.ti._id, b!.ti._id, dup!.ti._id].sort());
  });

  it('two triggerers racing batches (and a third resuming row by row) over the same rows: each row resumes exactly once', async () => {
    for (let round = 0; round < 3; round++) {
      resumes = [];
      const rows = await deferredRun(TASKS);
      const a = new TaskInstanceTransitions(store, bus, { writerId: 'triggerer-a' });
      const b = new TaskInstanceTransitions(store, bus, { writerId: 'triggerer-b' });
      const c = new TaskInstanceTransitions(store, bus, { writerId: 'triggerer-c' });
      const [ra, rb, ...rc] = await Promise.all([
        a.resolveTriggers(rows.map((x) => event(x, 'a'))),
        b.resolveTriggers([...rows].reverse().map((x) => event(x, 'b'))),
        ...rows.map((x) => c.resolveTriggers([event(x, 'c')])),
      ]);
      const winners = new Map<string, string[]>();
      const note = (by: string, after: TaskInstanceDoc | null) => {
        if (after) winners.set(after._id, [...(winners.get(after._id) ?? []), by]);
      };
      for (const r of ra!) note('a', r.after);
      for (const r of rb!) note('b', r.after);
      for (const r of rc) note('c', r[0]!.after);
      for (const x of rows) {
        const won = winners.get(x.ti._id) ?? [];
        expect(won, `${x.ti._id}: winners`).toHaveLength(1);
        expect(countOf(resumes, x.ti._id), `${x.ti._id}: resumes emitted`).toBe(1);
        const stored = await row(x.ti._id);
        expect(stored.state).toBe('scheduled');
        expect(stored.version).toBe(x.ti.version + 1);
        expect(JSON.parse(stored.trigger_event!)).toEqual({ by: won[0] });
      }
    }
  });

  it('a clear racing the batch: the resume never overwrites a cleared row, and is emitted only when it landed', async () => {
    for (let round = 0; round < 3; round++) {
      resumes = [];
      const rows = await deferredRun(TASKS);
      const [resolved, ...cleared] = await Promise.all([
        d.tis.resolveTriggers(rows.map((x) => event(x, 'stream'))),
        ...rows.map((x, i) => (i % 2 === 0 ? d.tis.clear(x.ti._id, 1) : Promise.resolve(null))),
      ]);
      for (const [i, x] of rows.entries()) {
        const resumed = (resolved as Array<{ after: TaskInstanceDoc | null }>)[i]!.after !== null;
        const clearWon = cleared[i] !== null;
        const stored = await row(x.ti._id);
        expect(countOf(resumes, x.ti._id), `${x.ti._id}: resumes emitted`).toBe(resumed ? 1 : 0);
        if (clearWon) {
          // Whatever the order, the clear is the last write: a resume after it would be a stale overwrite.
          expect(stored.state, x.ti._id).toBeNull();
          expect(stored.trigger_event).toBeNull();
        } else {
          expect(resumed, `${x.ti._id}: neither the clear nor the resume landed`).toBe(true);
          expect(stored.state).toBe('scheduled');
        }
      }
    }
  });
});
