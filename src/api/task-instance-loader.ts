/**
 * Task instances with their trigger and owning triggerer attached (Airflow's TaskInstance resource
 * carries `trigger` and `triggerer_job`), fetched in two batched queries instead of one per row.
 */
import type { JobDoc, TaskInstanceDoc, TriggerDoc } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { apiTaskInstance, type ApiTaskInstance } from './serializers.ts';

export async function withTriggers(store: Store, tis: TaskInstanceDoc[]): Promise<ApiTaskInstance[]> {
  const triggerIds = [...new Set(tis.map((t) => t.trigger_id).filter((x): x is string => Boolean(x)))];
  const triggers: TriggerDoc[] = triggerIds.length ? await store.triggers.find({ _id: { $in: triggerIds } }).toArray() : [];
  const byId = new Map(triggers.map((t) => [t._id, t]));
  const jobIds = [...new Set(triggers.map((t) => t.triggerer_id).filter((x): x is string => Boolean(x)))];
  const jobs: JobDoc[] = jobIds.length ? await store.jobs.find({ _id: { $in: jobIds } }).toArray() : [];
  const jobsById = new Map(jobs.map((j) => [j._id, j]));
  return tis.map((ti) => {
    const trig = ti.trigger_id ? (byId.get(ti.trigger_id) ?? null) : null;
    return apiTaskInstance(ti, trig, trig?.triggerer_id ? (jobsById.get(trig.triggerer_id) ?? null) : null);
  });
}
