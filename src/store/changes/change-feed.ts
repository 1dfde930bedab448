/**
 * The one change feed: every task-instance and DAG-run state change this process should know of,
 * once each, in the order each row changed — from the in-process state-change bus at once, and,
 * when `pollMs` is set, from an `updated_at` poll of the store for changes other processes made
 * (FerretDB has no change streams). Used by `Runtime.events$`, the webserver's live feed (SSE, UI),
 * and the CLI's follow views; the merge and dedupe rules are in feed-operators.ts.
 *
 * `changes$` is shared: one poll however many subscribe; it runs while someone subscribes and ends
 * with `complete()`. `scope` narrows the poll to one DAG (run) — a follow view reads only its run.
 */
import { type Observable, type SchedulerLike, EMPTY, ReplaySubject, defer, filter, from, map, share, takeUntil } from 'rxjs';
import type { Filter } from 'mongodb';
import type { Logger } from 'pino';
import type { Store } from '../store.ts';
import type { StateChangeBus } from '../state-change-bus.ts';
import type { DagRunDoc, TaskInstanceDoc } from '../schema.ts';
import { fromBus, polledDagRun, polledTaskInstance, type FeedChange } from './feed-change.ts';
import { ChangeMemory, mergeChanges, pollSince } from './feed-operators.ts';
import { pageSince } from './page-since.ts';

export interface ChangeFeedOptions {
  store: Store;
  bus?: StateChangeBus;
  /** Poll period for other processes' changes (ms); null: the bus only. */
  pollMs: number | null;
  /** How far before its cursor each poll reads again (clock skew, late commits). Default 1000 ms. */
  overlapMs?: number;
  /** Only this DAG (and run), in the poll and from the bus. */
  scope?: { dagId: string; runId?: string };
  /** Also pass trigger actions from the bus (created / fired / deleted …). Default true. */
  triggers?: boolean;
  /** Poll only while this holds (a triggerer: while it holds triggers); the cursor restarts at now when it resumes. */
  pollWhile?: () => boolean;
  logger?: Logger;
  /** Tests drive time with this. */
  scheduler?: SchedulerLike;
}

/** Rows per poll page, and pages per poll, before the rest waits for the next poll. */
const TI_PAGE = 1000;
const TI_PAGES = 20;
const RUN_PAGE = 500;
const RUN_PAGES = 4;

export class ChangeFeed {
  readonly changes$: Observable<FeedChange>;
  private readonly memory = new ChangeMemory();
  /** Replays: a subscriber arriving after complete() ends at once instead of restarting the poll. */
  private readonly stop$ = new ReplaySubject<void>(1);

  constructor(private readonly opts: ChangeFeedOptions) {
    const overlapMs = opts.overlapMs ?? 1000;
    const bus$ = opts.bus ? opts.bus.changes$.pipe(map(fromBus)) : EMPTY;
    const poll$ =
      opts.pollMs === null
        ? EMPTY
        : pollSince<TaskInstanceDoc | DagRunDoc>((since) => defer(() => from(this.readSince(since, overlapMs))), {
            intervalMs: opts.pollMs,
            overlapMs,
            pollWhile: opts.pollWhile,
            onError: (err) => opts.logger?.warn({ err }, 'Polling state changes failed; retrying'),
            scheduler: opts.scheduler,
          }).pipe(map((row) => ('task_id' in row ? polledTaskInstance(row) : polledDagRun(row))));
    this.changes$ = mergeChanges(bus$, poll$, this.memory).pipe(
      filter((c) => this.inScope(c)),
      takeUntil(this.stop$),
      share(),
    );
  }

  /** End the feed: subscribers complete, the poll stops. */
  complete(): void {
    this.stop$.next();
    this.stop$.complete();
  }

  /**
   * One poll's rows, runs and task instances merged in the order they changed (a task's change
   * before its run's at the same instant); what dedupe remembers of older rows is forgotten.
   */
  private async readSince(since: Date, overlapMs: number): Promise<Array<TaskInstanceDoc | DagRunDoc>> {
    const scope = this.opts.scope;
    const tiScope: Filter<TaskInstanceDoc> = scope ? { dag_id: scope.dagId, ...(scope.runId ? { run_id: scope.runId } : {}) } : {};
    const runScope: Filter<DagRunDoc> = scope ? { dag_id: scope.dagId, ...(scope.runId ? { run_id: scope.runId } : {}) } : {};
    const [tis, runs] = await Promise.all([
      pageSince(this.opts.store.taskInstances, since, TI_PAGE, TI_PAGES, tiScope),
      pageSince(this.opts.store.dagRuns, since, RUN_PAGE, RUN_PAGES, runScope),
    ]);
    this.memory.forgetBefore(since.getTime() - overlapMs);
    const rows: Array<TaskInstanceDoc | DagRunDoc> = [...tis, ...runs];
    return rows.sort((a, b) => a.updated_at.getTime() - b.updated_at.getTime());
  }

  private inScope(c: FeedChange): boolean {
    if (c.kind === 'trigger') return this.opts.triggers !== false && !this.opts.scope;
    const scope = this.opts.scope;
    if (!scope) return true;
    const row = c.kind === 'task_instance' ? c.ti : c.run;
    return row.dag_id === scope.dagId && (!scope.runId || row.run_id === scope.runId);
  }
}
