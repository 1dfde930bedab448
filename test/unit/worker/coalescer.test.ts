/** Requests of concurrent tries made within a few ms go out as one batch, in order, one batch at a time. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Coalescer } from '../../../src/worker/coalescer.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Coalescer', () => {
  it('batches requests made within delayMs and answers each its own result', async () => {
    const batches: number[][] = [];
    const c = new Coalescer<number, number>({ delayMs: 5, flush: async (xs) => (batches.push(xs), xs.map((x) => x * 10)) });
    const a = c.request(1);
    const b = c.request(2);
    await vi.advanceTimersByTimeAsync(5);
    const d = c.request(3);
    await vi.advanceTimersByTimeAsync(5);
    expect(await Promise.all([a, b, d])).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('sends at once when maxBatch are waiting, and never overlaps two batches', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const batches: number[][] = [];
    const c = new Coalescer<number, number>({
      delayMs: 50,
      maxBatch: 2,
      flush: async (xs) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        batches.push(xs);
        await new Promise((r) => setTimeout(r, 10));
        inFlight -= 1;
        return xs;
      },
    });
    const all = [1, 2, 3, 4, 5].map((x) => c.request(x));
    await vi.advanceTimersByTimeAsync(100);
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(maxInFlight).toBe(1);
  });

  it('a failed batch fails its own requests only', async () => {
    let n = 0;
    const c = new Coalescer<number, number>({
      delayMs: 1,
      flush: async (xs) => {
        n += 1;
        if (n === 1) throw new Error('store down');
        return xs;
      },
    });
    const a = c.request(1);
    const failed = expect(a).rejects.toThrow('store down');
    await vi.advanceTimersByTimeAsync(2);
    await failed;
    const b = c.request(2);
    await vi.advanceTimersByTimeAsync(2);
    expect(await b).toBe(2);
  });
});
