/**
 * The scheduler's memory of the runs it is driving: each running run's row and the rows of its
 * task instances, as last read or written. Built from the database when a run starts (or is first
 * seen running), kept current from the changed-rows reads and the scheduler's own writes, and
 * rebuilt from the database periodically and whenever it may have drifted (a run cleared, a
 * decision that lost its race, a finish the database did not confirm). Every decision taken from
 * it is written with the version it was taken on in the guard, so a stale view loses its write and
 * does nothing — the memory makes the scheduler cheap, never unsafe.
 */
import { dagRunId, type DagRunDoc, type TaskInstanceDoc, type TaskInstanceState } from '../store/schema.ts';

export class RunState {
  readonly tis = new Map<string, TaskInstanceDoc>();
  /** Task ids by state, kept with `tis`: what a pass looks at is found without scanning the run. */
  readonly byState = new Map<TaskInstanceState, Set<string>>();
  /** Tasks whose row changed since the run was last evaluated (their downstream may be ready now). */
  readonly changed = new Set<string>();
  /** Evaluate every none-state task next time (new, reloaded, or a write of its lost its race). */
  fullEval = true;
  /** Something changed since the run was last evaluated. */
  dirty = true;
  /** Earliest time a time-based rule (a retry delay, dagrun_timeout) needs the run evaluated again. */
  wakeAt: number | null = null;
  /** The DAG definition the run's rows were last checked against (added / vanished tasks). */
  checkedDag: unknown = null;

  constructor(
    public run: DagRunDoc,
    rows: Iterable<TaskInstanceDoc>,
    public loadedAt: number,
  ) {
    for (const ti of rows) this.put(ti);
  }

  get id(): string {
    return this.run._id;
  }

  private put(ti: TaskInstanceDoc): void {
    const cur = this.tis.get(ti.task_id);
    if (cur) this.byState.get(cur.state)?.delete(ti.task_id);
    this.tis.set(ti.task_id, ti);
    let set = this.byState.get(ti.state);
    if (!set) this.byState.set(ti.state, (set = new Set()));
    set.add(ti.task_id);
  }

  /** Task ids in `state` (live view; copy before changing rows while iterating). */
  inState(state: TaskInstanceState): ReadonlySet<string> {
    return this.byState.get(state) ?? EMPTY;
  }

  /** Take `ti` when it is newer than what is known of its row; true when taken. */
  apply(ti: TaskInstanceDoc): boolean {
    const cur = this.tis.get(ti.task_id);
    if (cur && cur.version >= ti.version) return false;
    this.put(ti);
    this.changed.add(ti.task_id);
    this.dirty = true;
    return true;
  }

  /** Replace everything from a fresh read of the run's rows (rows known newer are kept). */
  reload(rows: Iterable<TaskInstanceDoc>, at: number): void {
    const fresh: TaskInstanceDoc[] = [];
    for (const ti of rows) {
      const cur = this.tis.get(ti.task_id);
      fresh.push(cur && cur.version > ti.version ? cur : ti);
    }
    this.tis.clear();
    this.byState.clear();
    for (const ti of fresh) this.put(ti);
    this.loadedAt = at;
    this.fullEval = true;
    this.dirty = true;
  }

  dueAt(nowMs: number): boolean {
    return this.dirty || (this.wakeAt !== null && this.wakeAt <= nowMs);
  }
}

const EMPTY: ReadonlySet<string> = new Set();

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
      const n = rs.inState('queued').size + rs.inState('running').size;
      if (n) out.set(rs.run.dag_id, (out.get(rs.run.dag_id) ?? 0) + n);
    }
    return out;
  }
}
