/**
 * The change feed's merge / dedupe / poll logic, in virtual time (RxJS marble tests): what passes,
 * what is dropped as a duplicate or a stale read, where the poll's cursor moves.
 */
import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { ChangeMemory, freshOnly, mergeChanges, pollSince } from '../../../src/store/changes/feed-operators.ts';
import { polledDagRun, polledTaskInstance, type FeedChange } from '../../../src/store/changes/feed-change.ts';
import type { DagRunDoc, DagRunState, TaskInstanceDoc, TaskInstanceState } from '../../../src/store/schema.ts';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function ti(id: string, version: number, state: TaskInstanceState, at = version): TaskInstanceDoc {
  return { _id: id, dag_id: 'd', run_id: 'r', task_id: id, state, version, updated_at: new Date(at) } as TaskInstanceDoc;
}
function run(id: string, state: DagRunState, at: number, clear = 0): DagRunDoc {
  return { _id: id, dag_id: 'd', run_id: id, state, updated_at: new Date(at), clear_number: clear } as DagRunDoc;
}
const local = (doc: TaskInstanceDoc, previous: TaskInstanceState): FeedChange => ({
  kind: 'task_instance',
  at: doc.updated_at,
  origin: 'local',
  ti: doc,
  previous,
  lastSeen: undefined,
});
const polled = (doc: TaskInstanceDoc) => polledTaskInstance(doc);
const seenAs = (c: FeedChange, lastSeen: string | null | undefined): FeedChange => ({ ...c, lastSeen }) as FeedChange;

describe('mergeChanges (bus + poll, deduplicated)', () => {
  it('passes each task-instance version once and never an older one, whichever source reports it first', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const v1 = ti('a', 1, 'queued');
      const v2 = ti('a', 2, 'running');
      const v3 = ti('a', 3, 'success');
      const bus = cold('-b-------', { b: local(v2, 'queued') });
      const poll = cold('---xyz-w-', { x: polled(v1), y: polled(v2), z: polled(v3), w: polled(v3) });
      expectObservable(mergeChanges(bus, poll, new ChangeMemory())).toBe('-b---z---', {
        b: local(v2, 'queued'),
        z: seenAs(polled(v3), 'running'),
      });
    });
  });

  it('tells rows apart and remembers the last state passed (lastSeen) for polled changes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const a1 = ti('a', 1, 'queued');
      const b1 = ti('b', 1, 'queued');
      const a2 = ti('a', 2, 'running');
      expectObservable(cold('abc', { a: polled(a1), b: polled(b1), c: polled(a2) }).pipe(freshOnly(new ChangeMemory()))).toBe('abc', {
        a: polled(a1),
        b: polled(b1),
        c: seenAs(polled(a2), 'queued'),
      });
    });
  });

  it('passes a run change once per (updated_at, state, clear_number), never one older than the last passed', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const queued = polledDagRun(run('r', 'queued', 10));
      const running = polledDagRun(run('r', 'running', 20));
      const runningAgain = polledDagRun(run('r', 'running', 20));
      const staleQueued = polledDagRun(run('r', 'queued', 15));
      const sameInstantOtherState = polledDagRun(run('r', 'success', 20));
      const cleared = polledDagRun(run('r', 'success', 20, 1));
      const input = cold('abcdef', { a: queued, b: running, c: runningAgain, d: staleQueued, e: sameInstantOtherState, f: cleared });
      expectObservable(input.pipe(freshOnly(new ChangeMemory()))).toBe('ab--ef', {
        a: queued,
        b: seenAs(running, 'queued'),
        e: seenAs(sameInstantOtherState, 'running'),
        f: seenAs(cleared, 'success'),
      });
    });
  });

  it('always passes trigger actions', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const t: FeedChange = { kind: 'trigger', at: new Date(1), origin: 'local', action: 'created', trigger_id: 't1' };
      expectObservable(cold('tt', { t }).pipe(freshOnly(new ChangeMemory()))).toBe('tt', { t });
    });
  });
});

describe('ChangeMemory bounds', () => {
  it('forgets the oldest row past maxEntries, and rows older than a poll can return', () => {
    const m = new ChangeMemory(2);
    expect(m.admit(polled(ti('a', 1, null, 1)))).not.toBeNull();
    expect(m.admit(polled(ti('b', 1, null, 2)))).not.toBeNull();
    expect(m.admit(polled(ti('c', 1, null, 3)))).not.toBeNull();
    expect(m.tis.has('a')).toBe(false);
    // 'a' forgotten: its old version passes again (bounded memory's price; polls never reach that far back)
    expect(m.admit(polled(ti('a', 1, null, 1)))).not.toBeNull();
    m.forgetBefore(3);
    expect([...m.tis.keys()].sort()).toEqual(['c']);
  });
});

describe('pollSince', () => {
  it('never runs two reads at once: a tick during a slow read is skipped', () => {
    const sinces: number[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const reads = [
        cold('-a|', {
          a: [
            { id: 1, updated_at: new Date(3) },
            { id: 2, updated_at: new Date(7) },
          ],
        }),
        // a slow read (20 → 32): the tick at 30 comes while it runs and is skipped
        cold('-----------b|', {
          b: [
            { id: 2, updated_at: new Date(7) },
            { id: 3, updated_at: new Date(15) },
          ],
        }),
        cold('-c|', { c: [] as Array<{ id: number; updated_at: Date }> }),
      ];
      let n = 0;
      const out = pollSince(
        (since) => {
          sinces.push(since.getTime());
          return reads[n++]!;
        },
        { intervalMs: 10, overlapMs: 5 },
      );
      expectObservable(out, '^ 45ms !').toBe('-----------(xy)----------------(yz)', {
        x: { id: 1, updated_at: new Date(3) },
        y: { id: 2, updated_at: new Date(7) },
        z: { id: 3, updated_at: new Date(15) },
      });
    });
    // reads at 10, 20 and 40 (not 30), each from the newest row read so far minus the overlap
    expect(sinces).toEqual([-5, 2, 10]);
  });

  it('moves its cursor to the newest row and reads again from there minus the overlap', () => {
    const sinces: number[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const rows = [[{ updated_at: new Date(3) }, { updated_at: new Date(7) }], [{ updated_at: new Date(25) }], []];
      let n = 0;
      const out = pollSince(
        (since) => {
          sinces.push(since.getTime());
          return cold('(a|)', { a: rows[n++] ?? [] });
        },
        { intervalMs: 10, overlapMs: 5 },
      );
      expectObservable(out, '^ 35ms !').toBe('----------(ab)------c', { a: rows[0]![0], b: rows[0]![1], c: rows[1]![0] });
    });
    // subscribed at 0: first read from 0-5; then from 7-5; then from 25-5
    expect(sinces).toEqual([-5, 2, 20]);
  });

  it('skips a failed read, reports it and keeps polling; pauses (cursor restarting at now) while pollWhile says no', () => {
    const errors: unknown[] = [];
    const sinces: number[] = [];
    let active = true;
    scheduler().run(({ cold, expectObservable, flush }) => {
      let n = 0;
      const out = pollSince(
        (since) => {
          sinces.push(since.getTime());
          return n++ === 0 ? cold<Array<{ updated_at: Date }>>('#', undefined, new Error('db down')) : cold('(a|)', { a: [{ updated_at: new Date(100) }] });
        },
        { intervalMs: 10, overlapMs: 5, onError: (e) => errors.push(e), pollWhile: () => active },
      );
      expectObservable(out, '^ 25ms !').toBe('--------------------a', { a: { updated_at: new Date(100) } });
      flush();
      active = false;
    });
    expect(errors).toHaveLength(1);
    expect(sinces).toEqual([-5, -5]);
    // paused: no read happens, and when it resumes the cursor starts again at the then-current time
    sinces.length = 0;
    active = false;
    scheduler().run(({ cold, expectObservable }) => {
      let ticks = 0;
      const out = pollSince(
        (since) => {
          sinces.push(since.getTime());
          return cold('(a|)', { a: [] as Array<{ updated_at: Date }> });
        },
        {
          intervalMs: 10,
          overlapMs: 5,
          pollWhile: () => {
            ticks++;
            return ticks > 2; // two paused ticks (10, 20), then polling from 30
          },
        },
      );
      expectObservable(out, '^ 35ms !').toBe('');
    });
    expect(sinces).toEqual([15]);
  });
});
