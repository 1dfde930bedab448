/**
 * DAG run state changes, each one guarded update. Run creation relies on the unique
 * (dag_id, run_id) and (dag_id, logical_date) indexes: of two schedulers creating the same
 * scheduled run, one inserts and the other gets DAG_RUN_EXISTS and moves on.
 */
import type { Filter, UpdateFilter } from 'mongodb';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import type { Store } from '../store.ts';
import type { StateChangeBus } from '../state-change-bus.ts';
import { dagRunId, type DagRunDoc, type DagRunState, type RunType } from '../schema.ts';
import { isDuplicateKey } from './duplicate-key.ts';
import { AtomicUpdater } from './atomic-updater.ts';

export interface NewDagRun {
  dagId: string;
  runId: string;
  runType: RunType;
  logicalDate: Date;
  dataInterval: { start: Date; end: Date };
  conf?: Record<string, unknown>;
  externalTrigger?: boolean;
  note?: string | null;
}

export class DagRunTransitions {
  /** Atomic guarded writes on every server (per-document locks where updates are not atomic). */
  private readonly atomic: AtomicUpdater<DagRunDoc>;

  constructor(
    private readonly store: Store,
    private readonly bus?: StateChangeBus,
  ) {
    this.atomic = new AtomicUpdater(store.db, store.dagRuns);
  }

  private async guarded(filter: Filter<DagRunDoc>, update: UpdateFilter<DagRunDoc>, previous?: DagRunState): Promise<DagRunDoc | null> {
    const now = new Date();
    const doc = await this.atomic.findOneAndUpdate(filter, {
      ...update,
      $set: { ...(update.$set ?? {}), updated_at: now },
      $inc: { ...(update.$inc ?? {}), version: 1 },
    } as UpdateFilter<DagRunDoc>);
    if (doc)
      this.bus?.emit({
        kind: 'dag_run',
        at: now,
        previous: previous ?? (typeof filter.state === 'string' ? (filter.state as DagRunState) : undefined),
        run: doc,
      });
    return doc;
  }

  /** Insert a queued run; throws DAG_RUN_EXISTS if the run id or logical date is taken. */
  async create(r: NewDagRun): Promise<DagRunDoc> {
    const now = new Date();
    const doc: DagRunDoc = {
      _id: dagRunId(r.dagId, r.runId),
      dag_id: r.dagId,
      run_id: r.runId,
      run_type: r.runType,
      logical_date: r.logicalDate,
      data_interval_start: r.dataInterval.start,
      data_interval_end: r.dataInterval.end,
      state: 'queued',
      queued_at: now,
      start_date: null,
      end_date: null,
      conf: JSON.stringify(r.conf ?? {}),
      external_trigger: r.externalTrigger ?? r.runType === 'manual',
      clear_number: 0,
      note: r.note ?? null,
      updated_at: now,
      version: 0,
    };
    try {
      await this.store.dagRuns.insertOne(doc);
    } catch (e) {
      if (isDuplicateKey(e)) {
        throw new DeferflowError(
          'DAG_RUN_EXISTS',
          `A DAG run of '${r.dagId}' with run id '${r.runId}' or logical date ${r.logicalDate.toISOString()} already exists`,
          {
            hint: 'Pick another logical date (-e) or run id, or clear the existing run.',
          },
        );
      }
      throw e;
    }
    this.bus?.emit({ kind: 'dag_run', at: now, previous: undefined, run: doc });
    return doc;
  }

  /** queued → running. */
  start(id: string): Promise<DagRunDoc | null> {
    return this.guarded({ _id: id, state: 'queued' }, { $set: { state: 'running', start_date: new Date() } }, 'queued');
  }

  /** running → success / failed. */
  finish(id: string, state: 'success' | 'failed'): Promise<DagRunDoc | null> {
    return this.guarded({ _id: id, state: 'running' }, { $set: { state, end_date: new Date() } }, 'running');
  }

  /** Any → queued again after its task instances were cleared. */
  async requeue(id: string): Promise<DagRunDoc | null> {
    return this.guarded({ _id: id }, { $set: { state: 'queued', end_date: null }, $inc: { clear_number: 1 } });
  }

  /** Delete the run row (its task instances, triggers, XComs and logs are deleted first by the caller). */
  async delete(id: string): Promise<boolean> {
    const r = await this.store.dagRuns.deleteOne({ _id: id });
    return r.deletedCount === 1;
  }

  /** Set a run's state by hand (API PATCH / UI mark). */
  async markState(id: string, state: DagRunState): Promise<DagRunDoc | null> {
    const before = await this.store.dagRuns.findOne({ _id: id });
    if (!before) return null;
    const final = state === 'success' || state === 'failed';
    return this.guarded({ _id: id, state: before.state }, { $set: { state, end_date: final ? new Date() : null } }, before.state);
  }
}
