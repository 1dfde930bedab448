/**
 * One timer for everything. Simulated jobs at 100k scale would otherwise mean
 * 100k live `setTimeout`s (each a libuv handle plus a closure); a binary
 * min-heap with a single armed timer keeps that to one handle and a small
 * array entry per pending step.
 */
export interface TimerHandle {
  readonly at: number;
  cancelled: boolean;
}

interface Entry extends TimerHandle {
  seq: number;
  fn: () => void;
}

export class Scheduler {
  private heap: Entry[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private armedAt = Infinity;
  private closed = false;

  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  get size(): number {
    return this.heap.length;
  }

  /** Run `fn` at epoch millisecond `at` (or as soon as possible if in the past). */
  at(at: number, fn: () => void): TimerHandle {
    const e: Entry = { at, seq: this.seq++, fn, cancelled: false };
    if (this.closed) {
      e.cancelled = true;
      return e;
    }
    this.push(e);
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
    this.heap = [];
  }

  private arm(): void {
    const top = this.heap[0];
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
    while (this.heap.length > 0 && this.heap[0].at <= now && budget-- > 0) {
      const e = this.pop()!;
      if (e.cancelled) continue;
      e.cancelled = true;
      try {
        e.fn();
      } catch (err) {
        this.onError(err);
      }
    }
    if (this.closed) return;
    if (budget <= 0 && this.heap.length > 0) {
      this.timer = setTimeout(() => this.fire(), 0);
      this.armedAt = now;
      return;
    }
    this.arm();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
