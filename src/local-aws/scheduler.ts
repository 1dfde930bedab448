/**
 * One timer for everything. Simulated jobs at 100k scale would otherwise mean
 * 100k live `setTimeout`s (each a libuv handle plus a closure); a binary
 * min-heap with a single armed timer keeps that to one handle and a small
 * array entry per pending step.
 */
import { MinHeap } from '../util/min-heap.ts';

export interface TimerHandle {
  readonly at: number;
  cancelled: boolean;
}

interface Entry extends TimerHandle {
  seq: number;
  fn: () => void;
}

export class Scheduler {
  private readonly heap = new MinHeap<Entry>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private armedAt = Infinity;
  private closed = false;

  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  get size(): number {
    return this.heap.size;
  }

  /** Run `fn` at epoch millisecond `at` (or as soon as possible if in the past). */
  at(at: number, fn: () => void): TimerHandle {
    const e: Entry = { at, seq: this.seq++, fn, cancelled: false };
    if (this.closed) {
      e.cancelled = true;
      return e;
    }
    this.heap.push(e);
    this.arm();
    return e;
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.at(Date.now() + Math.max(0, ms), fn);
  }

  /** Cancellation is lazy: the entry stays in the heap and is skipped when it surfaces. */
  cancel(h: TimerHandle | null | undefined): void {
    if (h) h.cancelled = true;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.heap.clear();
  }

  private arm(): void {
    const top = this.heap.peek();
    if (!top) return;
    if (this.timer && this.armedAt <= top.at) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = top.at;
    // setTimeout caps at ~24.8 days; longer waits simply re-arm.
    const delay = Math.min(Math.max(0, top.at - Date.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = null;
    this.armedAt = Infinity;
    const now = Date.now();
    // Bound the work done in one tick so a burst of 100k due entries cannot starve I/O.
    let budget = 5000;
    while ((this.heap.peek()?.at ?? Infinity) <= now && budget-- > 0) {
      const e = this.heap.pop()!;
      if (e.cancelled) continue;
      e.cancelled = true;
      try {
        e.fn();
      } catch (err) {
        this.onError(err);
      }
    }
    if (this.closed) return;
    if (budget <= 0 && this.heap.size > 0) {
      this.timer = setTimeout(() => this.fire(), 0);
      this.armedAt = now;
      return;
    }
    this.arm();
  }
}
