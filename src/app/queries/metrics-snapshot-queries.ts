/** Reads of the processes' stored deferral figures (src/metrics/snapshot.ts) for the deferrals page. */
import type { Store } from '../../store/store.ts';
import type { MetricsSnapshotDoc } from '../../store/schema.ts';

/** Every stored snapshot but `exceptId`'s (the reading process counts its own figures live). */
export function otherSnapshots(store: Store, exceptId: string): Promise<MetricsSnapshotDoc[]> {
  return store.metricsSnapshots.find({ _id: { $ne: exceptId } }).toArray();
}
