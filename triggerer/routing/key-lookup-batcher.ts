/**
 * Looks up stored triggers for incoming events, coalescing all lookups requested in one
 * event-loop turn into a single indexed `$in` query, so a burst of 1k events costs a handful of
 * queries rather than 1k. Two steps, because almost every event is for a trigger running here:
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

/** Coalesces `load(all wanted)` per event-loop turn; each caller gets the rows `matches` its own. */
class Batcher<T> {
  private pending: Waiter<T>[] = [];
  private scheduled = false;

  constructor(
    private readonly load: (wanted: string[]) => Promise<T[]>,
    private readonly matches: (row: T, wanted: ReadonlySet<string>) => boolean,
  ) {}

  get(wanted: string[]): Promise<T[]> {
    if (wanted.length === 0) return Promise.resolve([]);
    return new Promise<T[]>((resolve, reject) => {
      this.pending.push({ wanted, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    try {
      const rows = await this.load([...new Set(batch.flatMap((w) => w.wanted))]);
      for (const w of batch) {
        const want = new Set(w.wanted);
        w.resolve(rows.filter((r) => this.matches(r, want)));
      }
    } catch (e) {
      for (const w of batch) w.reject(e);
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
