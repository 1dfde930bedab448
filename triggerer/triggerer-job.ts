/**
 * The triggerer's row in `jobs` (Airflow's Job table): its heartbeat tells the others it is alive
 * and with what capacity, which is how they share the trigger shards (ownership.ts). Whether a
 * shard may be taken over is decided by the shard's lease, renewed with the same heartbeat.
 */
import type { Store } from '../src/store/store.ts';
import { JobRepository } from '../src/store/repositories/job-repository.ts';

/** A triggerer whose heartbeat is recent, with its capacity. */
export interface LiveTriggerer {
  id: string;
  capacity: number | null;
}

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

  /** Triggerers whose heartbeat is younger than `withinMs` (always includes us). */
  async live(withinMs: number, now = new Date()): Promise<LiveTriggerer[]> {
    const rows = await this.store.jobs
      .find(
        { job_type: 'TriggererJob', state: 'running', latest_heartbeat: { $gte: new Date(now.getTime() - withinMs) } },
        { projection: { _id: 1, capacity: 1 } },
      )
      .toArray();
    const live = rows.map((r) => ({ id: r._id, capacity: r.capacity }));
    if (!live.some((l) => l.id === this.id)) live.push({ id: this.id, capacity: this.capacity });
    return live;
  }
}
