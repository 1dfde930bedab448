/**
 * Users' notes on DAG runs and task instances (Airflow's setNote). Not a state change, but a write
 * to rows the processes write too: it goes through the AtomicUpdater (atomic on every server we
 * support), stamps updated_at and, for a task instance, bumps the version, so live views (the
 * change feed) pick it up and a concurrent guarded transition is never lost under it.
 */
import { AtomicUpdater } from '../transitions/atomic-updater.ts';
import type { Store } from '../store.ts';
import type { StateChangeBus } from '../state-change-bus.ts';
import type { DagRunDoc, TaskInstanceDoc } from '../schema.ts';

export class NoteRepository {
  private readonly runs: AtomicUpdater<DagRunDoc>;
  private readonly tis: AtomicUpdater<TaskInstanceDoc>;

  constructor(
    store: Store,
    private readonly bus?: StateChangeBus,
  ) {
    this.runs = new AtomicUpdater(store.db, store.dagRuns);
    this.tis = new AtomicUpdater(store.db, store.taskInstances);
  }

  async setRunNote(runId: string, note: string | null): Promise<DagRunDoc | null> {
    const now = new Date();
    const doc = await this.runs.findOneAndUpdate({ _id: runId }, { $set: { note, updated_at: now } });
    if (doc) this.bus?.emit({ kind: 'dag_run', at: now, previous: doc.state, run: doc });
    return doc;
  }

  async setTaskInstanceNote(tiId: string, note: string | null): Promise<TaskInstanceDoc | null> {
    const now = new Date();
    const doc = await this.tis.findOneAndUpdate({ _id: tiId }, { $set: { note, updated_at: now }, $inc: { version: 1 } });
    if (doc) this.bus?.emit({ kind: 'task_instance', at: now, previous: doc.state, ti: doc });
    return doc;
  }
}
