/**
 * The scheduler's memory of the runs it is driving: each running run's row and the rows of its
 * task instances, as last read or written. Built from the database when a run starts (or is first
 * seen running), kept current from the changed-rows reads and the scheduler's own writes, and
 * rebuilt from the database periodically and whenever it may have drifted (a run cleared, a
 * decision that lost its race, a finish the database did not confirm). Every decision taken from
 * it is written with the version it was taken on in the guard, so a stale view loses its write and
 * does nothing — the memory makes the scheduler cheap, never unsafe.
 */
import { dagRunId, type DagRunDoc, type TaskInstanceDoc } from '../store/schema.ts';

export class RunState {
  readonly tis = new Map<string, TaskInstanceDoc>();
  /** Something changed since the run was last evaluated. */
  dirty = true;
  /** Earliest time a time-based rule (a retry delay, dagrun_timeout) needs the run evaluated again. */
  wakeAt: number | null = null;

  constructor(
    public run: DagRunDoc,
    rows: Iterable<TaskInstanceDoc>,
    public loadedAt: number,
  ) {
    for (const ti of rows) this.tis.set(ti.task_id, ti);
  }

  get id(): string {
    return this.run._id;
  }

  /** Take `ti` when it is newer than what is known of its row; true when taken. */
  apply(ti: TaskInstanceDoc): boolean {
    const cur = this.tis.get(ti.task_id);
    if (cur && cur.version >= ti.version) return false;
    this.tis.set(ti.task_id, ti);
    this.dirty = true;
    return true;
  }

  /** Replace everything from a fresh read of the run's rows (rows known newer are kept). */
  reload(rows: Iterable<TaskInstanceDoc>, at: number): void {
    const fresh = new Map<string, TaskInstanceDoc>();
    for (const ti of rows) {
      const cur = this.tis.get(ti.task_id);
      fresh.set(ti.task_id, cur && cur.version > ti.version ? cur : ti);
    }
    this.tis.clear();
    for (const [k, v] of fresh) this.tis.set(k, v);
    this.loadedAt = at;
    this.dirty = true;
  }

  dueAt(nowMs: number): boolean {
    return this.dirty || (this.wakeAt !== null && this.wakeAt <= nowMs);
  }
}

export class RunStates {
  private readonly runs = new Map<string, RunState>();

  get size(): number {
    return this.runs.size;
  }

  get(runId: string): RunState | undefined {
    return this.runs.get(runId);
  }

  set(rs: RunState): void {
    this.runs.set(rs.id, rs);
  }

  delete(runId: string): void {
    this.runs.delete(runId);
  }

  values(): IterableIterator<RunState> {
    return this.runs.values();
  }

  /** Apply a task-instance row to its run, if that run is held; returns the run when the row was newer. */
  applyTi(ti: TaskInstanceDoc): RunState | undefined {
    const rs = this.runs.get(dagRunId(ti.dag_id, ti.run_id));
    return rs?.apply(ti) ? rs : undefined;
  }

  /** Task instances in a worker's hands (queued or running) per DAG, across the runs held. */
  inSlotsByDag(): Map<string, number> {
    const out = new Map<string, number>();
    for (const rs of this.runs.values()) {
      for (const ti of rs.tis.values()) if (ti.state === 'queued' || ti.state === 'running') out.set(ti.dag_id, (out.get(ti.dag_id) ?? 0) + 1);
    }
    return out;
  }
}
