/**
 * Per-try history of a task instance (Airflow 2.10's task_instance_history), as pure functions of
 * the row: what the transitions in task-instance-plans.ts push when a try ends, and how readers
 * (API, UI) see every try — the ended ones from `tries`, the current one from the row itself.
 *
 * A try's deferral windows: the ones that closed before its latest deferral are in
 * `try_deferrals` (pushed when the worker next writes the row), the latest is the row's
 * `deferred_at` → `resumed_at` with `deferral_trigger`. They are only the current try's while
 * `next_method` is set (the try deferred and has not ended); a fresh try starts with neither.
 */
import type { TaskInstanceDoc, TaskInstanceState, TaskInstanceTryDoc, TryDeferralWindow } from './schema.ts';

/** The row as the history needs it (a claimed doc, a doc read before a user's change). */
export type HistorySource = Pick<
  TaskInstanceDoc,
  | 'try_number'
  | 'state'
  | 'next_method'
  | 'queued_dttm'
  | 'start_date'
  | 'hostname'
  | 'pid'
  | 'worker_id'
  | 'operator'
  | 'max_tries'
  | 'last_error'
  | 'deferred_at'
  | 'resumed_at'
  | 'fail_reason'
  | 'try_deferrals'
  | 'try_queued_at'
  | 'deferral_trigger'
>;

/** True while the row's try has deferred and not ended (deferred, or resumed and not yet finished). */
export function inDeferredTry(ti: Pick<TaskInstanceDoc, 'next_method'>): boolean {
  return ti.next_method != null;
}

/** The latest deferral window of the current try; `endedAt` closes one that never resumed. */
export function latestWindow(ti: HistorySource, endedAt: Date | null = null): TryDeferralWindow | null {
  if (!inDeferredTry(ti) || !ti.deferred_at) return null;
  const resumed = ti.resumed_at && ti.resumed_at >= ti.deferred_at ? ti.resumed_at : null;
  return {
    from: ti.deferred_at,
    to: resumed ?? endedAt,
    trigger: ti.deferral_trigger ?? null,
    resumed_by: resumed ? (ti.fail_reason?.kind ?? 'event') : null,
  };
}

/** The latest window when it has closed by a resume (what a worker's next write moves to `try_deferrals`). */
export function resumedWindow(ti: HistorySource): TryDeferralWindow | null {
  const w = latestWindow(ti);
  return w?.to ? w : null;
}

/** Every deferral window of the current try, oldest first; an open one ends at `openUntil` (null: left open). */
export function currentTryWindows(ti: HistorySource, openUntil: Date | null = null): TryDeferralWindow[] {
  if (!inDeferredTry(ti)) return [];
  const latest = latestWindow(ti, openUntil);
  return [...(ti.try_deferrals ?? []), ...(latest ? [latest] : [])];
}

/** When the current try was first queued: a resumed task is queued again, which overwrites queued_dttm. */
export function tryQueuedAt(ti: HistorySource): Date | null {
  return inDeferredTry(ti) ? (ti.try_queued_at ?? null) : ti.queued_dttm;
}

/** Whether the row holds a try that started and has not been recorded as ended. */
export function tryInFlight(ti: HistorySource): boolean {
  if (ti.try_number <= 0) return false;
  if (ti.state === 'running' || ti.state === 'deferred') return true;
  return (ti.state === 'scheduled' || ti.state === 'queued') && inDeferredTry(ti);
}

/** The record of the row's current try, ended now in `state`. */
export function endedTry(
  ti: HistorySource,
  state: TaskInstanceState,
  now: Date,
  endedBy: TaskInstanceTryDoc['ended_by'],
  lastError: string | null = ti.last_error,
): TaskInstanceTryDoc {
  return {
    try_number: ti.try_number,
    state,
    queued_at: tryQueuedAt(ti),
    start_date: ti.start_date,
    end_date: now,
    duration: ti.start_date ? (now.getTime() - ti.start_date.getTime()) / 1000 : null,
    hostname: ti.hostname,
    pid: ti.pid,
    worker_id: ti.worker_id,
    operator: ti.operator,
    max_tries: ti.max_tries,
    last_error: lastError,
    deferrals: currentTryWindows(ti, now),
    ended_by: endedBy,
  };
}

/** Fields that start the next try clean, set by every transition that records a try's end. */
export function cleanTry(): Pick<TaskInstanceDoc, 'try_deferrals' | 'try_queued_at' | 'deferral_trigger'> {
  return { try_deferrals: [], try_queued_at: null, deferral_trigger: null };
}

/** A try as readers see it: an ended record, or the current try read from the row. */
export interface TryView extends TaskInstanceTryDoc {
  /** True for the row's own try (still going, or ended and possibly marked since). */
  current: boolean;
}

/**
 * Every try of the row, oldest first: the recorded ones, then the current one when it is not
 * recorded yet. The current try's state is the row's (a user may have marked it after it ended).
 */
export function triesOf(ti: TaskInstanceDoc): TryView[] {
  const byNumber = new Map<number, TryView>();
  for (const t of ti.tries ?? []) byNumber.set(t.try_number, { ...t, current: false });
  if (ti.try_number > 0) {
    const recorded = byNumber.get(ti.try_number);
    if (recorded) {
      byNumber.set(ti.try_number, { ...recorded, state: ti.state, current: true });
    } else {
      byNumber.set(ti.try_number, {
        try_number: ti.try_number,
        state: ti.state,
        queued_at: tryQueuedAt(ti),
        start_date: ti.start_date,
        end_date: ti.end_date,
        duration: ti.duration,
        hostname: ti.hostname,
        pid: ti.pid,
        worker_id: ti.worker_id,
        operator: ti.operator,
        max_tries: ti.max_tries,
        last_error: ti.last_error,
        deferrals: currentTryWindows(ti, ti.state === 'deferred' ? null : ti.end_date),
        ended_by: 'worker',
        current: true,
      });
    }
  }
  return [...byNumber.values()].sort((a, b) => a.try_number - b.try_number);
}
