/**
 * Looks up stored triggers by routing key for every incoming event, coalescing
 * all lookups requested in one event-loop turn into a single indexed `$in` query, so a burst of
 * 1k events costs a handful of queries rather than 1k.
 */
import type { Store } from '../../src/store/store.ts';
import type { TriggerDoc } from '../../src/store/schema.ts';

interface Waiter {
  keys: string[];
  resolve(docs: TriggerDoc[]): void;
  reject(e: unknown): void;
}

export class KeyLookupBatcher {
  private pending: Waiter[] = [];
  private scheduled = false;

  constructor(private readonly store: Store) {}

  lookup(keys: string[]): Promise<TriggerDoc[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise<TriggerDoc[]>((resolve, reject) => {
      this.pending.push({ keys, resolve, reject });
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
    const all = [...new Set(batch.flatMap((w) => w.keys))];
    try {
      const docs = await this.store.triggers.find({ routing_keys: { $in: all } }).toArray();
      for (const w of batch) {
        const want = new Set(w.keys);
        w.resolve(docs.filter((d) => d.routing_keys.some((k) => want.has(k))));
      }
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
  }
}
