/**
 * Looks up stored triggers for incoming events, coalescing all lookups requested in one
 * event-loop turn — and, under a stream, all those requested while the previous query of the same
 * kind is in flight — into a single indexed `$in` query, so 1k events/s cost a few queries per
 * round trip of the server rather than one per turn (every event of a stream asks for the same
 * generic keys; on a server without the `routing_keys` index each query is a scan). Two steps,
 * because almost every event is for a trigger running here:
 *   `byKeys`  which triggers wait on these routing keys — ids and keys only, a few bytes each;
 *   `byIds`   the whole rows, only for triggers the event did not reach here (held elsewhere or
 *             by nobody), which the dispatcher resumes from MongoDB.
 */
import type { Store } from '../../src/store/store.ts';
import type { TriggerDoc } from '../../src/store/schema.ts';

export type TriggerKeys = Pick<TriggerDoc, '_id' | 'routing_keys'>;

interface Waiter<T> {
  wanted: string[];
  resolve(rows: T[]): void;
  reject(e: unknown): void;
}

/**
 * Coalesces `load(all wanted)` per event-loop turn, one load in flight at a time (requests made
 * meanwhile wait for the next); each caller gets the rows `matches` its own.
 */
class Batcher<T> {
  private pending: Waiter<T>[] = [];
  private scheduled = false;
  private loading = false;

  constructor(
    private readonly load: (wanted: string[]) => Promise<T[]>,
    private readonly matches: (row: T, wanted: ReadonlySet<string>) => boolean,
  ) {}

  get(wanted: string[]): Promise<T[]> {
    if (wanted.length === 0) return Promise.resolve([]);
    return new Promise<T[]>((resolve, reject) => {
      this.pending.push({ wanted, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.loading || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    this.loading = true;
    try {
      const rows = await this.load([...new Set(batch.flatMap((w) => w.wanted))]);
      for (const w of batch) {
        const want = new Set(w.wanted);
        w.resolve(rows.filter((r) => this.matches(r, want)));
      }
    } catch (e) {
      for (const w of batch) w.reject(e);
    } finally {
      this.loading = false;
      this.schedule();
    }
  }
}

export class KeyLookupBatcher {
  private readonly keys: Batcher<TriggerKeys>;
  private readonly ids: Batcher<TriggerDoc>;

  constructor(store: Store) {
    this.keys = new Batcher<TriggerKeys>(
      (all) => store.triggers.find<TriggerKeys>({ routing_keys: { $in: all } }, { projection: { _id: 1, routing_keys: 1 } }).toArray(),
      (row, want) => row.routing_keys.some((k) => want.has(k)),
    );
    this.ids = new Batcher<TriggerDoc>(
      (all) => store.triggers.find({ _id: { $in: all } }).toArray(),
      (row, want) => want.has(row._id),
    );
  }

  /** Ids (and keys) of the stored triggers waiting on any of `keys`. */
  byKeys(keys: string[]): Promise<TriggerKeys[]> {
    return this.keys.get(keys);
  }

  /** The stored rows of these triggers (those deleted meanwhile are missing). */
  byIds(ids: string[]): Promise<TriggerDoc[]> {
    return this.ids.get(ids);
  }
}
