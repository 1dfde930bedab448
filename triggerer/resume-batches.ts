/**
 * The first write of a resume, coalesced: the outcomes triggers decide in one event-loop turn —
 * and, under a stream, all those decided while earlier batches are in flight — are written
 * together (TaskInstanceTransitions.resolveTriggers: one read of the task rows, one batched write
 * of the guarded updates), instead of one findOneAndUpdate per resume. At 1,000 events/s a
 * round trip per resume queued on the connection pool and on the server; a batch costs two
 * whatever its size, so batches grow with the load and the latency stays near two round trips.
 *
 * Nothing about the guard changes: each row of a batch is its own guarded single-document update
 * (deferred on this trigger, at the version just read), so a write that loses a race does nothing
 * and answers `after: null`; only winners are emitted on the state-change bus.
 *
 * At most `maxInFlight` batches are written at once (the rest wait, and so batch up); a batch
 * holds at most `maxBatch` rows. A failed batch rejects each of its callers (their outcomes are
 * retried, or their events handed back, as for a failed single write).
 */
import type { TriggerResolution, TriggerResolutionResult } from '../src/store/transitions/task-instance-transitions.ts';

export type ResolveTriggers = (items: ReadonlyArray<TriggerResolution>) => Promise<TriggerResolutionResult[]>;

export interface ResumeBatchesOptions {
  /** Rows per batch at most. Default 500. */
  maxBatch?: number;
  /** Batches written at once at most. Default 4. */
  maxInFlight?: number;
}

interface Waiting {
  item: TriggerResolution;
  resolve(r: TriggerResolutionResult): void;
  reject(e: unknown): void;
}

export class ResumeBatches {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly write: ResolveTriggers,
    opts: ResumeBatchesOptions = {},
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4);
  }

  /** Resolve one trigger's outcome with the next batch; answers this row's part of it. */
  resolve(item: TriggerResolution): Promise<TriggerResolutionResult> {
    return new Promise<TriggerResolutionResult>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Outcomes waiting for a batch or in one (tests, metrics). */
  get pending(): number {
    return this.queue.length;
  }

  /** Batches being written now. */
  get writing(): number {
    return this.inFlight;
  }

  /** Flush at the end of this turn, so every outcome decided in it joins the batch. */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.schedule();
      });
    }
  }

  private async run(batch: Waiting[]): Promise<void> {
    let results: TriggerResolutionResult[];
    try {
      results = await this.write(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`resolveTriggers answered ${results.length} results for ${batch.length} outcomes`);
    } catch (e) {
      for (const w of batch) w.reject(e);
      return;
    }
    for (const [i, w] of batch.entries()) w.resolve(results[i]!);
  }
}
