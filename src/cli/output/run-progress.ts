/**
 * Live view of one DAG run's task states, for `dags test` and `start`:
 *  - on a terminal: a table redrawn in place, states coloured like Airflow's grid;
 *  - otherwise (CI logs, pipes): one line per state change, so the log reads as a timeline.
 * It follows the run through the change feed (src/app/use-cases/watch-changes.ts: the in-process
 * bus at once, plus a poll of the run's rows by updated_at) so it shows the same truth whether the
 * work runs in this process or in other processes sharing the database.
 */
import type { DagRunDoc, TaskInstanceDoc } from '../../store/schema.ts';
import type { Store } from '../../store/store.ts';
import type { AppContext } from '../../app/app-context.ts';
import { runWithTaskInstances } from '../../app/queries/dag-run-queries.ts';
import { watchRun } from '../../app/use-cases/watch-changes.ts';
import { formatDuration } from '../../util/duration.ts';
import type { OutputFormat } from './output-format.ts';
import { renderTable, toJsonValue, type Writer } from './renderer.ts';
import { colorsEnabled, formatState } from './state-colors.ts';

export interface TaskStateRow {
  task_id: string;
  state: string | null;
  try_number: number;
  max_tries: number;
  operator: string;
  start_date: Date | null;
  end_date: Date | null;
  /** Seconds. */
  duration: number | null;
  last_error: string | null;
}

export interface RunSnapshot {
  dag_id: string;
  run_id: string;
  state: string;
  logical_date: Date;
  start_date: Date | null;
  end_date: Date | null;
  task_instances: TaskStateRow[];
}

export function snapshotOf(run: DagRunDoc, tis: TaskInstanceDoc[], taskOrder: string[] = []): RunSnapshot {
  const rank = new Map(taskOrder.map((id, i) => [id, i]));
  const rows = tis
    .map((t) => ({
      task_id: t.task_id,
      state: t.state,
      try_number: t.try_number,
      max_tries: t.max_tries,
      operator: t.operator,
      start_date: t.start_date,
      end_date: t.end_date,
      duration: t.duration,
      last_error: t.last_error,
    }))
    .sort((a, b) => (rank.get(a.task_id) ?? 1e9) - (rank.get(b.task_id) ?? 1e9) || a.task_id.localeCompare(b.task_id));
  return {
    dag_id: run.dag_id,
    run_id: run.run_id,
    state: run.state,
    logical_date: run.logical_date,
    start_date: run.start_date,
    end_date: run.end_date,
    task_instances: rows,
  };
}

export async function readSnapshot(store: Store, dagId: string, runId: string, taskOrder: string[] = []): Promise<RunSnapshot | null> {
  const found = await runWithTaskInstances(store, dagId, runId);
  return found ? snapshotOf(found.run, found.tis, taskOrder) : null;
}

const COLUMNS = [{ key: 'task_id' }, { key: 'state', state: true }, { key: 'try_number' }, { key: 'duration' }, { key: 'start_date' }, { key: 'end_date' }];

function tableRows(s: RunSnapshot): Array<Record<string, unknown>> {
  return s.task_instances.map((t) => ({ ...t, duration: t.duration == null ? '' : formatDuration(t.duration * 1000) }));
}

export class RunProgressView {
  private readonly seen = new Map<string, string>();
  private runState: string | null = null;
  private drawnLines = 0;
  private readonly live: boolean;
  private readonly color: boolean;
  private readonly lineOut: (t: string) => void;

  constructor(
    private readonly writer: Writer,
    private readonly format: OutputFormat,
  ) {
    // JSON keeps stdout for the final document; progress goes to stderr then.
    this.live = writer.isTty && format !== 'json';
    this.color = this.live && colorsEnabled();
    this.lineOut = format === 'json' ? (t) => writer.err(t) : (t) => writer.out(t);
  }

  /** Show what changed since the last call. */
  update(s: RunSnapshot): void {
    if (this.live) {
      this.redraw(s);
      return;
    }
    const time = new Date().toISOString().slice(11, 19);
    const runLine = s.state !== this.runState ? `[${time}] run ${s.run_id}: ${this.runState ?? 'new'} → ${s.state}` : null;
    this.runState = s.state;
    // A finished run is reported after the task changes seen with it, so the log reads causally.
    const runFinished = s.state === 'success' || s.state === 'failed';
    if (runLine && !runFinished) this.lineOut(runLine);
    for (const t of s.task_instances) {
      const key = `${t.state ?? 'none'}#${t.try_number}`;
      const before = this.seen.get(t.task_id);
      if (before === key) continue;
      this.seen.set(t.task_id, key);
      if (before === undefined && t.state === null) continue;
      const prev = before ? before.split('#')[0] : 'none';
      const err = (t.state === 'failed' || t.state === 'up_for_retry') && t.last_error ? ` — ${t.last_error.split('\n')[0]}` : '';
      this.lineOut(`[${time}] ${t.task_id}: ${prev} → ${t.state ?? 'none'} (try ${t.try_number}/${t.max_tries + 1})${err}`);
    }
    if (runLine && runFinished) this.lineOut(runLine);
  }

  private redraw(s: RunSnapshot): void {
    const text = `${s.dag_id} ${s.run_id}: ${formatState(s.state, this.color)}\n${renderTable(tableRows(s), COLUMNS, this.color)}`;
    const lines = text.split('\n').length;
    // Move up over the previous frame and clear it, then draw the new one.
    if (this.drawnLines) this.writer.out(`\u001b[${this.drawnLines}A\u001b[0J${text}`);
    else this.writer.out(text);
    this.drawnLines = lines;
  }

  /** The final result: the state table (or the JSON document). */
  final(s: RunSnapshot): void {
    if (this.format === 'json') {
      this.writer.out(JSON.stringify(toJsonValue(s), null, 2));
      return;
    }
    if (this.live) {
      this.redraw(s);
      return;
    }
    if (this.format === 'plain') {
      this.writer.out(
        [
          'task_id\tstate\ttry_number\tduration',
          ...s.task_instances.map((t) => `${t.task_id}\t${t.state ?? 'none'}\t${t.try_number}\t${t.duration ?? ''}`),
        ].join('\n'),
      );
    } else {
      this.writer.out(renderTable(tableRows(s), COLUMNS, false));
    }
    this.writer.out(`DAG run ${s.run_id} of ${s.dag_id}: ${s.state}`);
  }
}

/**
 * Feed the view until the run ends (when `stopWhenFinished`, the default) or `done` resolves: every
 * change the feed reports is shown as it happens (this process's at once, other processes' within
 * `intervalMs`). Returns the run as read from the store at the end.
 */
export async function followRun(
  app: AppContext,
  dagId: string,
  runId: string,
  view: RunProgressView,
  opts: { intervalMs?: number; taskOrder?: string[]; done?: Promise<unknown>; stopWhenFinished?: boolean } = {},
): Promise<RunSnapshot | null> {
  const stopWhenFinished = opts.stopWhenFinished !== false;
  let run: DagRunDoc | null = null;
  const tis = new Map<string, TaskInstanceDoc>();
  // Keep the newest version of each row: the feed passes only newer ones, the first read may be older.
  const mergeTi = (ti: TaskInstanceDoc): void => {
    const cur = tis.get(ti.task_id);
    if (!cur || cur.version <= ti.version) tis.set(ti.task_id, ti);
  };
  const mergeRun = (r: DagRunDoc): void => {
    if (!run || run.updated_at <= r.updated_at) run = r;
  };
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const show = (): void => {
    if (!run) return;
    view.update(snapshotOf(run, [...tis.values()], opts.taskOrder));
    if (stopWhenFinished && (run.state === 'success' || run.state === 'failed')) finish();
  };
  const feed = watchRun(app, dagId, runId, { pollMs: opts.intervalMs ?? 250 });
  const sub = feed.changes$.subscribe((c) => {
    if (c.kind === 'task_instance') mergeTi(c.ti);
    else if (c.kind === 'dag_run') mergeRun(c.run);
    show();
  });
  try {
    // Read after subscribing: nothing that changes in between is missed.
    const now = await runWithTaskInstances(app.store, dagId, runId);
    if (now) {
      mergeRun(now.run);
      for (const ti of now.tis) mergeTi(ti);
      show();
    }
    await Promise.race([
      finished,
      opts.done?.then(
        () => undefined,
        () => undefined,
      ) ?? new Promise<never>(() => undefined),
    ]);
  } finally {
    sub.unsubscribe();
    feed.complete();
  }
  return readSnapshot(app.store, dagId, runId, opts.taskOrder);
}
