/**
 * Run-level fields that are not states: the DAG version a run started with, and the flag saying
 * no scheduler can load the run's DAG. Guarded single-document updates through the AtomicUpdater
 * (per-document locks on FerretDB, whose updates rewrite the whole document and would otherwise
 * race the state transitions of the same run).
 */
import type { Store } from '../store.ts';
import type { DagRunDoc } from '../schema.ts';
import { AtomicUpdater } from '../transitions/atomic-updater.ts';

export class DagRunFlagRepository {
  private readonly atomic: AtomicUpdater<DagRunDoc>;

  constructor(store: Store) {
    this.atomic = new AtomicUpdater(store.db, store.dagRuns);
  }

  /** Record the version a queued run starts with, once (a run keeps its first version). */
  recordVersion(runId: string, version: string): Promise<boolean> {
    return this.atomic.updateOne({ _id: runId, dag_version: null }, { $set: { dag_version: version } });
  }

  /** Flag a queued/running run whose DAG cannot be loaded, saying why. */
  flagUnloadable(runId: string, reason: string, now = new Date()): Promise<boolean> {
    return this.atomic.updateOne(
      { _id: runId, state: { $in: ['queued', 'running'] }, dag_load_error: { $ne: reason } },
      { $set: { dag_load_error: reason, dag_load_error_at: now, updated_at: now } },
    );
  }

  /** The run's DAG loads again. */
  clearUnloadable(runId: string, now = new Date()): Promise<boolean> {
    return this.atomic.updateOne({ _id: runId, dag_load_error: { $ne: null } }, { $set: { dag_load_error: null, dag_load_error_at: null, updated_at: now } });
  }
}
