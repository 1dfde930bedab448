/**
 * Task instances serialized with their trigger and owning triggerer attached (Airflow's
 * TaskInstance resource carries `trigger` and `triggerer_job`); the reads are batched in
 * src/app/queries/task-instance-queries.ts.
 */
import type { TaskInstanceDoc } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { withTriggers as readWithTriggers } from '../app/queries/task-instance-queries.ts';
import type { ApiTaskInstance } from './schemas/resources.ts';
import { apiTaskInstance } from './serializers.ts';

export async function withTriggers(store: Store, tis: TaskInstanceDoc[]): Promise<ApiTaskInstance[]> {
  return (await readWithTriggers(store, tis)).map((r) => apiTaskInstance(r.ti, r.trigger, r.triggerer));
}
