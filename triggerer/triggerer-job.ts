/**
 * The triggerer's row in `jobs` (Airflow's Job table): its heartbeat is how other triggerers tell
 * a live owner from a dead one whose triggers they may adopt.
 */
import type { Store } from '../src/store/store.ts';
import { JobRepository } from '../src/store/repositories/job-repository.ts';

export class TriggererJob {
  constructor(
    private readonly store: Store,
    readonly id: string,
    private readonly capacity: number,
  ) {}

  /** (Re)write the row as a fresh running job, as every process registers. */
  async register(now = new Date()): Promise<void> {
    await new JobRepository(this.store).register('TriggererJob', { id: this.id, capacity: this.capacity, load: 0, now });
  }

  /** False when the row vanished (someone cleaned it up): the caller re-registers. */
  async heartbeat(load: number, now = new Date()): Promise<boolean> {
    const r = await this.store.jobs.updateOne({ _id: this.id }, { $set: { latest_heartbeat: now, load, capacity: this.capacity, state: 'running' } });
    return r.matchedCount === 1;
  }

  async end(state: 'success' | 'failed'): Promise<void> {
    await this.store.jobs.updateOne({ _id: this.id }, { $set: { state, end_date: new Date(), load: 0 } });
  }

  /** Ids of triggerers whose heartbeat is younger than `adoptAfterMs` (always includes us). */
  async aliveIds(adoptAfterMs: number, now = new Date()): Promise<string[]> {
    const rows = await this.store.jobs
      .find({ job_type: 'TriggererJob', state: 'running', latest_heartbeat: { $gte: new Date(now.getTime() - adoptAfterMs) } }, { projection: { _id: 1 } })
      .toArray();
    const ids = rows.map((r) => r._id);
    if (!ids.includes(this.id)) ids.push(this.id);
    return ids;
  }
}
