/**
 * Reads of cluster health from the metadata database: is it reachable, the processes' latest
 * heartbeats, live processes and task instances / runs by state (health endpoint, /metrics gauges).
 */
import type { Store } from '../../store/store.ts';
import type { JobDoc, JobType } from '../../store/schema.ts';

export async function databaseReachable(store: Store): Promise<boolean> {
  try {
    await store.db.command({ ping: 1 });
    return true;
  } catch {
    return false;
  }
}

/** Latest heartbeat of a running job of this type, or null when none runs. */
export async function latestHeartbeat(store: Store, type: JobType): Promise<Date | null> {
  const job = await store.jobs.find({ job_type: type, state: 'running' }).sort({ latest_heartbeat: -1 }).limit(1).next();
  return job?.latest_heartbeat ?? null;
}

/** Running jobs of a type whose heartbeat is younger than `withinMs`. */
export function liveJobs(store: Store, type: JobType, withinMs: number, now = Date.now()): Promise<JobDoc[]> {
  return store.jobs.find({ job_type: type, state: 'running', latest_heartbeat: { $gte: new Date(now - withinMs) } }).toArray();
}

/** How many running jobs of each type heartbeated within `withinMs`. */
export async function liveJobCounts(store: Store, withinMs: number, now = Date.now()): Promise<Array<{ jobType: string; n: number }>> {
  const rows = await store.jobs
    .aggregate<{ _id: string; n: number }>([
      { $match: { state: 'running', latest_heartbeat: { $gte: new Date(now - withinMs) } } },
      { $group: { _id: '$job_type', n: { $sum: 1 } } },
    ])
    .toArray();
  return rows.map((r) => ({ jobType: r._id, n: r.n }));
}

/** Task instances or DAG runs counted by state (`none` for a task instance not yet scheduled). */
export async function countByState(store: Store, of: 'taskInstances' | 'dagRuns'): Promise<Array<{ state: string; n: number }>> {
  const rows = await store[of].aggregate<{ _id: string | null; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }]).toArray();
  return rows.map((r) => ({ state: r._id ?? 'none', n: r.n }));
}
