import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { TimerHeap } from '../../../triggerer/timer-heap.ts';

const newScheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

describe('TimerHeap (deadlines, marbles)', () => {
  it('fires each wait at its moment, in order, whatever order they were scheduled in', () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const heap = new TimerHeap(ts);
      expectObservable(heap.at(new Date(30)).pipe(map(() => 'c'))).toBe('30ms (c|)');
      expectObservable(heap.at(new Date(10)).pipe(map(() => 'a'))).toBe('10ms (a|)');
      expectObservable(heap.at(new Date(20)).pipe(map(() => 'b'))).toBe('20ms (b|)');
    });
  });

  it('a moment in the past fires at once; a cancelled wait never fires', () => {
    const ts = newScheduler();
    ts.run(({ expectObservable, cold }) => {
      const heap = new TimerHeap(ts);
      const fired: string[] = [];
      const h = heap.schedule(15, () => fired.push('cancelled'));
      heap.schedule(25, () => fired.push('kept'));
      cold('5ms x').subscribe(() => h.cancel());
      expectObservable(heap.at(new Date(-1000)).pipe(map(() => 'p'))).toBe('(p|)');
      cold('30ms x').subscribe(() => expect(fired).toEqual(['kept']));
    });
  });

  it('an unsubscribed wait (trigger cancelled) releases its entry', () => {
    const ts = newScheduler();
    ts.run(({ expectObservable }) => {
      const heap = new TimerHeap(ts);
      expectObservable(heap.at(new Date(50)), '20ms !').toBe('');
      expectObservable(heap.at(new Date(40)).pipe(map(() => 'y'))).toBe('40ms (y|)');
    });
  });

  it('holds 100k deadlines behind one scheduled action and fires them in deadline order', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const heap = new TimerHeap(ts);
      const order: number[] = [];
      for (let i = 0; i < 100_000; i++) {
        const at = (i * 7919) % 100_000;
        heap.schedule(at, () => order.push(at));
      }
      expect(heap.size).toBe(100_000);
      flush();
      expect(order.length).toBe(100_000);
      expect(order.every((v, i) => i === 0 || order[i - 1] <= v)).toBe(true);
      expect(heap.size).toBe(0);
    });
  });
});
