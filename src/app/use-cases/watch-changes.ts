/**
 * Watch state changes — what `Runtime.events$`, the webserver's live feed (SSE, the UI) and the
 * CLI's follow views (`dags test`, `start`, `tasks logs --follow`, `tasks test`) are built on: the
 * one ChangeFeed (src/store/changes), over the whole database or scoped to a run, plus the waits
 * made of it. Every wait reads the row once after subscribing, so a change that happened before
 * the wait began is not missed.
 */
import { filter, firstValueFrom, map, merge, from, type Observable, timer, mergeMap, EMPTY } from 'rxjs';
import type { Logger } from 'pino';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { ChangeFeed } from '../../store/changes/change-feed.ts';
import type { DagRunDoc, TaskInstanceDoc } from '../../store/schema.ts';
import type { AppContext } from '../app-context.ts';
import { getDagRun } from '../queries/dag-run-queries.ts';
import { getTaskInstanceById } from '../queries/task-instance-queries.ts';

export interface WatchOptions {
  /** Poll period for changes other processes make (ms); null: this process's changes only. */
  pollMs: number | null;
  overlapMs?: number;
  logger?: Logger;
}

/** Every change the process should know of (see ChangeFeed); call complete() when done. */
export function watchChanges(app: AppContext, opts: WatchOptions): ChangeFeed {
  return new ChangeFeed({ store: app.store, bus: app.bus, pollMs: opts.pollMs, overlapMs: opts.overlapMs, logger: opts.logger });
}

/** The changes of one DAG run and its task instances; call complete() when done. */
export function watchRun(app: AppContext, dagId: string, runId: string, opts: WatchOptions): ChangeFeed {
  return new ChangeFeed({
    store: app.store,
    bus: app.bus,
    pollMs: opts.pollMs,
    overlapMs: opts.overlapMs,
    logger: opts.logger,
    scope: { dagId, runId },
  });
}

const TERMINAL_RUN_STATES: ReadonlySet<string> = new Set(['success', 'failed']);

/** The run once it is success or failed; RUN_WAIT_TIMEOUT after timeoutMs. */
export async function waitForRunEnd(app: AppContext, dagId: string, runId: string, opts: { timeoutMs: number; pollMs: number }): Promise<DagRunDoc> {
  const feed = watchRun(app, dagId, runId, { pollMs: opts.pollMs });
  const changed$: Observable<DagRunDoc> = feed.changes$.pipe(mergeMap((c) => (c.kind === 'dag_run' ? [c.run] : EMPTY)));
  const now$ = from(getDagRun(app.store, dagId, runId)).pipe(filter((r): r is DagRunDoc => r !== null));
  const timeout$ = timer(opts.timeoutMs).pipe(
    map((): DagRunDoc => {
      throw new DeferflowError('RUN_WAIT_TIMEOUT', `DAG run ${dagId}/${runId} did not finish within ${opts.timeoutMs} ms`);
    }),
  );
  try {
    return await firstValueFrom(merge(merge(changed$, now$).pipe(filter((r) => TERMINAL_RUN_STATES.has(r.state))), timeout$));
  } finally {
    feed.complete();
  }
}

/** The task instance once `done(ti)` holds. */
export async function waitForTaskInstance(
  app: AppContext,
  ti: Pick<TaskInstanceDoc, '_id' | 'dag_id' | 'run_id'>,
  done: (ti: TaskInstanceDoc) => boolean,
  opts: { pollMs: number },
): Promise<TaskInstanceDoc> {
  const feed = watchRun(app, ti.dag_id, ti.run_id, { pollMs: opts.pollMs });
  const changed$ = feed.changes$.pipe(mergeMap((c) => (c.kind === 'task_instance' && c.ti._id === ti._id ? [c.ti] : EMPTY)));
  const now$ = from(getTaskInstanceById(app.store, ti._id)).pipe(filter((t): t is TaskInstanceDoc => t !== null));
  try {
    return await firstValueFrom(merge(changed$, now$).pipe(filter(done)));
  } finally {
    feed.complete();
  }
}
