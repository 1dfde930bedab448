/**
 * When each task try waited deferred, as this tab saw it. The store resets a row's deferred_at /
 * resumed_at when the try ends (only the deferred_ms total stays), so a finished task instance no
 * longer says where in its bar the deferral was. Remembering the windows from what went past —
 * live changes and API reads — lets the Gantt of a run watched in this tab keep drawing the purple
 * part after the task succeeded. Kept per tab (not per page), so navigating between views keeps it.
 */
import type { ApiTaskInstance } from '../../api/schemas/resources.ts';

export interface DeferralWindow {
  from: number;
  /** Resume time; null while deferred, or when the resume itself was not seen. */
  to: number | null;
}

/** Tries remembered at most; the oldest are forgotten first. */
const MAX_TRIES = 5000;

export class DeferralWindows {
  private readonly byTry = new Map<string, DeferralWindow[]>();

  private static key(ti: ApiTaskInstance): string {
    return `${ti.dag_id}|${ti.dag_run_id}|${ti.task_id}|${ti.map_index ?? -1}|${ti.try_number}`;
  }

  record(ti: ApiTaskInstance): void {
    if (!ti.deferred_at) return;
    const from = Date.parse(ti.deferred_at);
    if (!Number.isFinite(from)) return;
    const resumed = ti.resumed_at ? Date.parse(ti.resumed_at) : NaN;
    const to = Number.isFinite(resumed) && resumed >= from ? resumed : null;
    const key = DeferralWindows.key(ti);
    let list = this.byTry.get(key);
    if (!list) {
      if (this.byTry.size >= MAX_TRIES) this.byTry.delete(this.byTry.keys().next().value!);
      this.byTry.set(key, (list = []));
    }
    const known = list.find((w) => w.from === from);
    if (known) {
      known.to ??= to;
    } else {
      list.push({ from, to });
      list.sort((a, b) => a.from - b.from);
    }
  }

  /**
   * The try's windows, oldest first. A window whose resume went unseen is closed from the row's
   * deferred_ms (the sum of every finished deferral of the try) once the task is no longer deferred.
   */
  windows(ti: ApiTaskInstance): DeferralWindow[] {
    const list = this.byTry.get(DeferralWindows.key(ti));
    if (!list?.length) return [];
    const out = list.map((w) => ({ ...w }));
    if (ti.state !== 'deferred') {
      const open = out.filter((w) => w.to === null);
      if (open.length === 1) {
        const closedMs = out.reduce((s, w) => s + (w.to === null ? 0 : w.to - w.from), 0);
        const rest = ti.deferred_ms - closedMs;
        if (rest >= 0) open[0]!.to = open[0]!.from + rest;
      }
    }
    return out;
  }
}

/** The tab's one memory, fed by main.ts (live changes) and DagModel (API reads). */
export const deferralWindows = new DeferralWindows();
