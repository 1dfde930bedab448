/**
 * Process registry (Airflow's `job` table): each scheduler, worker, triggerer registers, heartbeats,
 * and marks itself stopped; `alive` tells the living from the dead by heartbeat age.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Store } from '../store.ts';
import type { JobDoc, JobType } from '../schema.ts';

export class JobRepository {
  constructor(private readonly store: Store) {}

  async register(jobType: JobType, opts: { id?: string; capacity?: number | null; load?: number | null; now?: Date } = {}): Promise<JobDoc> {
    const now = opts.now ?? new Date();
    const doc: JobDoc = {
      _id: opts.id ?? randomUUID(),
      job_type: jobType,
      hostname: hostname(),
      pid: process.pid,
      state: 'running',
      start_date: now,
      end_date: null,
      latest_heartbeat: now,
      capacity: opts.capacity ?? null,
      load: opts.load ?? null,
    };
    await this.store.jobs.replaceOne({ _id: doc._id }, doc, { upsert: true });
    return doc;
  }

  /** Returns false when the job row is gone or no longer running (someone declared it dead). */
  async heartbeat(id: string, opts: { load?: number | null; now?: Date } = {}): Promise<boolean> {
    const set: Partial<JobDoc> = { latest_heartbeat: opts.now ?? new Date() };
    if (opts.load !== undefined) set.load = opts.load;
    const r = await this.store.jobs.updateOne({ _id: id, state: 'running' }, { $set: set });
    return r.matchedCount === 1;
  }

  async markStopped(id: string, state: 'success' | 'failed' = 'success'): Promise<void> {
    await this.store.jobs.updateOne({ _id: id, state: 'running' }, { $set: { state, end_date: new Date(), load: 0 } });
  }

  /** Running jobs of a type whose heartbeat is younger than thresholdMs. */
  alive(jobType: JobType, thresholdMs: number, now = new Date()): Promise<JobDoc[]> {
    return this.store.jobs
      .find({ job_type: jobType, state: 'running', latest_heartbeat: { $gte: new Date(now.getTime() - thresholdMs) } })
      .sort({ start_date: 1 })
      .toArray();
  }

  get(id: string): Promise<JobDoc | null> {
    return this.store.jobs.findOne({ _id: id });
  }
}
