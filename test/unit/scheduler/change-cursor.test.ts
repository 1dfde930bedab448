/**
 * The scheduler's changed-rows bookkeeping (ChangeCursor): what the fast read asks for, which rows
 * it passes on, and when a window check is due and what it compares.
 */
import { describe, expect, it } from 'vitest';
import { ChangeCursor } from '../../../src/scheduler/change-cursor.ts';

interface Row {
  _id: string;
  updated_at: Date;
  version: number;
  mine?: boolean;
}
const row = (id: string, atMs: number, version: number, mine = false): Row => ({ _id: id, updated_at: new Date(atMs), version, mine });
const T0 = 1_000_000;

function cursor(): ChangeCursor<Row> {
  return new ChangeCursor<Row>({ lagMs: 1000, windowMs: 500, marginMs: 100, excluded: (r) => r.mine === true }, T0);
}

describe('ChangeCursor', () => {
  it('starts lagMs back, passes each row version once and moves the fast read past the newest stamp', () => {
    const c = cursor();
    expect(c.fastRead()).toEqual({ after: new Date(T0 - 1000), marginFrom: new Date(T0 - 1000), seen: [] });
    expect(c.admit([row('a', T0 + 10, 1), row('b', T0 + 20, 1)], { fast: true }).map((r) => r._id)).toEqual(['a', 'b']);
    // Read again (the margin): nothing new.
    expect(c.admit([row('a', T0 + 10, 1), row('b', T0 + 20, 1)], { fast: true })).toEqual([]);
    // A newer version of a passes.
    expect(c.admit([row('a', T0 + 30, 2)], { fast: true }).map((r) => r.version)).toEqual([2]);
    const f = c.fastRead();
    expect(f.after).toEqual(new Date(T0 + 30));
    expect(f.marginFrom).toEqual(new Date(T0 - 70));
    // Rows of the margin already seen are named, so the server leaves them out.
    expect(f.seen.sort()).toEqual(['a', 'b']);
  });

  it('leaves rows it was told of (own writes, excluded) out of the margin and the window checks', () => {
    const c = cursor();
    c.noteOwn(row('mine', T0 + 5, 3, true));
    c.admit([row('x', T0 + 6, 1)], { fast: true });
    expect(c.fastRead().seen).toEqual(['x']);
    const w = { from: new Date(T0), to: new Date(T0 + 500) };
    expect(c.localChecksum(w)).toEqual({ n: 1, v: 1 });
  });

  it('offers windows only once they end lagMs before now, each as wide as windowMs, and forgets what they cover', () => {
    const c = cursor();
    // Start − lag = T0 − 1000: the first window [T0−1000, T0−500) is due at T0 + 500.
    expect(c.nextWindow(T0 + 499)).toBeNull();
    const w1 = c.nextWindow(T0 + 500)!;
    expect([w1.from.getTime(), w1.to.getTime()]).toEqual([T0 - 1000, T0 - 500]);
    c.admit([row('late', T0 - 800, 4), row('later', T0 + 100, 2)], { fast: false });
    expect(c.localChecksum(w1)).toEqual({ n: 1, v: 4 });
    c.windowDone(w1);
    expect(c.size).toBe(1);
    // A row re-read later with a stamp in a checked window is not remembered again.
    c.admit([row('old', T0 - 900, 1)], { fast: false });
    expect(c.size).toBe(1);
    const w2 = c.nextWindow(T0 + 1000)!;
    expect([w2.from.getTime(), w2.to.getTime()]).toEqual([T0 - 500, T0]);
  });

  it('a row that changed again moves to the window of its newest change', () => {
    const c = cursor();
    c.admit([row('r', T0 + 100, 1)], { fast: true });
    c.admit([row('r', T0 + 700, 2)], { fast: true });
    expect(c.localChecksum({ from: new Date(T0), to: new Date(T0 + 500) })).toEqual({ n: 0, v: 0 });
    expect(c.localChecksum({ from: new Date(T0 + 500), to: new Date(T0 + 1000) })).toEqual({ n: 1, v: 2 });
  });

  it('restart forgets everything and starts lagMs before the given time', () => {
    const c = cursor();
    c.admit([row('a', T0 + 10, 1)], { fast: true });
    c.restart(T0 + 5000);
    expect(c.size).toBe(0);
    expect(c.fastRead().after).toEqual(new Date(T0 + 4000));
  });
});
