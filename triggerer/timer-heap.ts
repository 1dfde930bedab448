/**
 * One min-heap of wake-up times behind a single scheduled action: trigger deadlines and every
 * DateTime trigger of a triggerer share it, so 100k waiting triggers arm one timer, not 100k.
 * Cancelled entries are dropped lazily (and compacted when they dominate the heap).
 * Takes an RxJS SchedulerLike so marble tests drive it with virtual time.
 */
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { MinHeap } from '../src/util/min-heap.ts';

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
  private readonly heap = new MinHeap<Entry>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  private seq = 0;
  private cancelledCount = 0;
  private armed: { at: number; sub: Subscription } | null = null;
  private stopped = false;

  constructor(private readonly scheduler: SchedulerLike = asyncScheduler) {}

  get size(): number {
    return this.heap.size - this.cancelledCount;
  }

  /** Call `fire` at `at` (epoch ms, or at once — asynchronously — if it passed). */
  schedule(at: number, fire: () => void): TimerHandle {
    const entry: Entry = { at, seq: this.seq++, fire, cancelled: false };
    this.heap.push(entry);
    this.arm();
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        this.cancelledCount++;
        if (this.cancelledCount > 1024 && this.cancelledCount > this.heap.size / 2) this.compact();
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
    this.heap.clear();
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
      this.heap.pop();
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
    for (let top = this.heap.peek(); top?.cancelled; top = this.heap.peek()) {
      this.heap.pop();
      this.cancelledCount--;
    }
    return this.heap.peek();
  }

  private compact(): void {
    this.heap.retain((e) => !e.cancelled);
    this.cancelledCount = 0;
  }
}
