/**
 * Writes of the audit log (`event_logs`, Airflow's `log` table). Ids are numbers, as Airflow's
 * event_log_id (its API clients type it as an integer): the entry's time in ms × 1000 plus a random
 * tie-breaker below 1000 — unique through the `_id` index (a collision is retried with another
 * tie-breaker), roughly in time order, and below 2^53 for the next ~280 years.
 */
import { randomInt } from 'node:crypto';
import type { Store } from '../store.ts';
import type { EventLogDoc } from '../schema.ts';
import { isDuplicateKey } from '../transitions/duplicate-key.ts';

export type NewEventLog = Omit<EventLogDoc, '_id' | 'dttm'> & { dttm?: Date };

const ATTEMPTS = 5;

function eventLogId(at: Date): number {
  return at.getTime() * 1000 + randomInt(1000);
}

export class EventLogRepository {
  constructor(private readonly store: Store) {}

  /** Insert entries in one round trip (another only on an id collision); returns them with their ids. */
  async add(entries: NewEventLog[]): Promise<EventLogDoc[]> {
    const now = new Date();
    const docs: EventLogDoc[] = entries.map((e) => ({ ...e, dttm: e.dttm ?? now, _id: eventLogId(e.dttm ?? now) }));
    let from = 0;
    for (let attempt = 1; from < docs.length; attempt++) {
      try {
        // Ordered: on a collision everything before it is written and nothing after it.
        await this.store.eventLogs.insertMany(docs.slice(from), { ordered: true });
        from = docs.length;
      } catch (e) {
        if (!isDuplicateKey(e) || attempt >= ATTEMPTS) throw e;
        from += (e as { result?: { insertedCount?: number } }).result?.insertedCount ?? 0;
        docs[from] = { ...docs[from]!, _id: eventLogId(docs[from]!.dttm) };
      }
    }
    return docs;
  }
}
