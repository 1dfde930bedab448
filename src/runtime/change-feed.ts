/**
 * Merges in-process state changes (the bus: immediate) with changes other processes made (a
 * poll of `task_instances` / `dag_runs` by `updated_at`: FerretDB has no change streams), and
 * de-duplicates the two: a task instance change is identified by its `version`, a run change by
 * (`updated_at`, state). Memory is bounded: the dedupe maps forget the oldest entries.
 */
import { type Observable, Subject, Subscription, exhaustMap, from, timer } from 'rxjs';
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import type { StateChangeBus } from '../store/state-change-bus.ts';
import type { DagRunDoc, DagRunState, TaskInstanceDoc, TaskInstanceState } from '../store/schema.ts';
import { dagRunEvent, taskInstanceEvent, type RuntimeEvent } from './runtime-event.ts';

const MAX_REMEMBERED = 200_000;
/** Overlap of consecutive polls, for writes that commit after a later write was read. */
const OVERLAP_MS = 1_000;
const PAGE = 2_000;

interface SeenTi {
  version: number;
  state: TaskInstanceState;
}
interface SeenRun {
  updated: number;
  state: DagRunState;
}

export class ChangeFeed {
  private readonly subject = new Subject<RuntimeEvent>();
  readonly events$: Observable<RuntimeEvent> = this.subject.asObservable();
  private readonly tis = new Map<string, SeenTi>();
  private readonly runs = new Map<string, SeenRun>();
  private tiCursor: Date;
  private runCursor: Date;
  private sub = new Subscription();

  constructor(private readonly opts: { store: Store; bus: StateChangeBus; logger: Logger; pollMs: number | null }) {
    this.tiCursor = new Date();
    this.runCursor = new Date();
  }

  start(): void {
    this.sub = new Subscription();
    this.sub.add(
      this.opts.bus.changes$.subscribe((c) => {
        if (c.kind === 'task_instance') this.offerTi(c.ti, c.previous, 'local', c.at);
        else if (c.kind === 'dag_run') this.offerRun(c.run, c.previous, 'local', c.at);
      }),
    );
    if (this.opts.pollMs !== null) {
      this.sub.add(
        timer(this.opts.pollMs, this.opts.pollMs)
          .pipe(exhaustMap(() => from(this.poll())))
          .subscribe(),
      );
    }
  }

  stop(): void {
    this.sub.unsubscribe();
  }

  complete(): void {
    this.stop();
    this.subject.complete();
  }

  /** One poll of both collections (exposed for tests). */
  async poll(): Promise<void> {
    try {
      const tiRows = await this.opts.store.taskInstances
        .find({ updated_at: { $gt: new Date(this.tiCursor.getTime() - OVERLAP_MS) } })
        .sort({ updated_at: 1 })
        .limit(PAGE)
        .toArray();
      for (const ti of tiRows) {
        if (ti.updated_at > this.tiCursor) this.tiCursor = ti.updated_at;
        this.offerTi(ti, undefined, 'poll');
      }
      const runRows = await this.opts.store.dagRuns
        .find({ updated_at: { $gt: new Date(this.runCursor.getTime() - OVERLAP_MS) } })
        .sort({ updated_at: 1 })
        .limit(PAGE)
        .toArray();
      for (const run of runRows) {
        if (run.updated_at > this.runCursor) this.runCursor = run.updated_at;
        this.offerRun(run, undefined, 'poll');
      }
    } catch (e) {
      this.opts.logger.warn({ err: e }, 'Polling state changes failed; retrying');
    }
  }

  private offerTi(ti: TaskInstanceDoc, previous: TaskInstanceState | undefined, origin: 'local' | 'poll', at?: Date): void {
    const seen = this.tis.get(ti._id);
    if (seen && seen.version >= ti.version) return;
    remember(this.tis, ti._id, { version: ti.version, state: ti.state });
    this.subject.next(taskInstanceEvent(ti, previous ?? seen?.state, origin, at));
  }

  private offerRun(run: DagRunDoc, previous: DagRunState | undefined, origin: 'local' | 'poll', at?: Date): void {
    const seen = this.runs.get(run._id);
    const updated = run.updated_at.getTime();
    if (seen && (seen.updated > updated || (seen.updated === updated && seen.state === run.state))) return;
    remember(this.runs, run._id, { updated, state: run.state });
    this.subject.next(dagRunEvent(run, previous ?? seen?.state, origin, at));
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_REMEMBERED) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}
