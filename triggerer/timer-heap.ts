/**
 * One min-heap of wake-up times behind a single scheduled action: trigger deadlines and every
 * DateTime trigger of a triggerer share it, so 100k waiting triggers arm one timer, not 100k.
 * Cancelled entries are dropped lazily (and compacted when they dominate the heap).
 * Takes an RxJS SchedulerLike so marble tests drive it with virtual time.
 */
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';

interface Entry {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

export interface TimerHandle {
  cancel(): void;
}

/** setTimeout's ceiling (~24.8 days); longer waits re-arm when it elapses. */
const MAX_DELAY_MS = 2_147_483_647;

export class TimerHeap {
  private heap: Entry[] = [];
  private seq = 0;
  private cancelledCount = 0;
  private armed: { at: number; sub: Subscription } | null = null;
  private stopped = false;

  constructor(private readonly scheduler: SchedulerLike = asyncScheduler) {}

  get size(): number {
    return this.heap.length - this.cancelledCount;
  }

  /** Call `fire` at `at` (epoch ms, or at once — asynchronously — if it passed). */
  schedule(at: number, fire: () => void): TimerHandle {
    const entry: Entry = { at, seq: this.seq++, fire, cancelled: false };
    this.push(entry);
    this.arm();
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        this.cancelledCount++;
        if (this.cancelledCount > 1024 && this.cancelledCount > this.heap.length / 2) this.compact();
      },
    };
  }

  /** Observable flavour for triggers: emits `moment` once at that time, then completes. */
  at(moment: Date): Observable<Date> {
    return new Observable<Date>((sub) => {
      const h = this.schedule(moment.getTime(), () => {
        sub.next(moment);
        sub.complete();
      });
      return () => h.cancel();
    });
  }

  /** Drop everything (triggerer stopped). */
  stop(): void {
    this.stopped = true;
    this.armed?.sub.unsubscribe();
    this.armed = null;
    this.heap = [];
    this.cancelledCount = 0;
  }

  private arm(): void {
    if (this.stopped) return;
    const top = this.peekLive();
    if (!top) {
      this.armed?.sub.unsubscribe();
      this.armed = null;
      return;
    }
    if (this.armed && this.armed.at <= top.at) return;
    this.armed?.sub.unsubscribe();
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, top.at - this.scheduler.now()));
    const at = top.at;
    this.armed = { at, sub: this.scheduler.schedule(() => this.onTimer(), delay) };
  }

  private onTimer(): void {
    this.armed = null;
    const now = this.scheduler.now();
    const due: Entry[] = [];
    for (;;) {
      const top = this.peekLive();
      if (!top || top.at > now) break;
      this.pop();
      due.push(top);
    }
    // Fire after the heap is consistent: a callback may schedule or cancel entries.
    for (const e of due) {
      if (e.cancelled) continue;
      e.cancelled = true; // fired entries count as gone for cancel()
      try {
        e.fire();
      } catch {
        // A trigger's own error handling reports failures; the heap keeps ticking.
      }
    }
    this.arm();
  }

  private peekLive(): Entry | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) {
      this.pop();
      this.cancelledCount--;
    }
    return this.heap[0];
  }

  private compact(): void {
    this.heap = this.heap.filter((e) => !e.cancelled);
    this.cancelledCount = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
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
      this.down(0);
    }
    return top;
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
