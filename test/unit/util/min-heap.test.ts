import { describe, expect, it } from 'vitest';
import { MinHeap } from '../../../src/util/min-heap.ts';

const drain = <T>(h: MinHeap<T>): T[] => {
  const out: T[] = [];
  for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
  return out;
};

describe('MinHeap', () => {
  it('pops in ascending order whatever the push order (seeded shuffle, with duplicates)', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const values = Array.from({ length: 500 }, () => Math.floor(rnd() * 100));
    const h = new MinHeap<number>((a, b) => a < b);
    for (const v of values) h.push(v);
    expect(h.size).toBe(500);
    expect(drain(h)).toEqual([...values].sort((a, b) => a - b));
    expect(h.size).toBe(0);
    expect(h.pop()).toBeUndefined();
    expect(h.peek()).toBeUndefined();
  });

  it('orders by the given comparator: equal times keep insertion order via a sequence tie-break', () => {
    const h = new MinHeap<{ at: number; seq: number }>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
    [
      [5, 0],
      [1, 1],
      [5, 2],
      [1, 3],
      [3, 4],
    ].forEach(([at, seq]) => {
      h.push({ at, seq });
    });
    expect(h.peek()).toEqual({ at: 1, seq: 1 });
    expect(drain(h).map((e) => `${e.at}/${e.seq}`)).toEqual(['1/1', '1/3', '3/4', '5/0', '5/2']);
  });

  it('retain drops items and keeps the heap order for what is left; clear empties it', () => {
    const h = new MinHeap<number>((a, b) => a < b);
    for (let i = 20; i > 0; i--) h.push(i);
    h.retain((x) => x % 3 !== 0);
    expect(h.size).toBe(14);
    h.push(0);
    expect(drain(h)).toEqual([0, 1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17, 19, 20]);
    h.push(1);
    h.clear();
    expect(h.size).toBe(0);
  });
});
