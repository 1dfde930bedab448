/**
 * The scheduler: turns schedules into DAG runs and decides, run by run, which task instances are
 * ready. It keeps each running run's rows in memory (RunStates) and reads only what changed since
 * its last pass (ChangeCursor), so a pass costs O(changes), not O(rows of every running run).
 *
 * Its loop is an RxJS observable — an adaptive poll merged with wake-ups from the state-change bus,
 * through `exhaustMap` so two passes never overlap; passes start at least `minLoopIntervalMs`
 * apart (wake-ups in between coalesce into the next pass), and the poll backs off from
 * `minLoopIntervalMs` to `loopIntervalMs` while nothing changes.
 *
 * Each pass:
 *   1. read the DAG runs that changed (all queued / running runs on the first pass and on
 *      runOnce()), and the task instances that changed, except rows this process already knows
 *      of (its own writes; writes of processes reporting on its bus) and rows a worker is running;
 *   2. flag active runs whose DAG no scheduler can load (and unflag those whose DAG loads again);
 *   3. create scheduled runs from timetables (on the sweep timer);
 *   4. start queued runs up to max_active_runs (creating their task instances first) and load
 *      running runs it does not hold yet;
 *   5. evaluate the runs that changed (or whose retry delay / dagrun_timeout came due), in memory:
 *      add missing / remove vanished tasks, enforce dagrun_timeout, trigger rules of none-state
 *      tasks (skipped / upstream_failed settled in waves, each wave one write), retries whose delay
 *      passed back to scheduled, and finish runs whose task instances are all finished — after the
 *      database confirms it — with their DAG callback persisted first (dag-callbacks.ts);
 *   6. queue what is ready in ONE write: resumed deferrals first and whatever max_active_tasks
 *      says (they finish work in flight), then the rest by priority within each DAG's capacity;
 *   7. on the sweep timer: reap zombies (running with an expired lease), fail deferred tasks past
 *      their trigger timeout or execution deadline, check the change windows, rebuild the run
 *      held longest from the database, and take over DAG callbacks of stopped schedulers.
 *
 * Several schedulers may run at once. Each holds every active run; another scheduler's writes
 * reach it through the changed-rows read; every decision is written with the version of the row
 * it was taken on in the guard, so a decision taken on a stale view loses its write and does
 * nothing, the row is read back and the run evaluated again. A run is finished only after a count
 * in the database confirms no task instance is left.
 */
import { randomUUID } from 'node:crypto';
import type { Filter } from 'mongodb';
import type { Logger } from 'pino';
import { EMPTY, Subject, type Subscription, catchError, defer, exhaustMap, filter, from } from 'rxjs';
import type { DagDefinition as DAG, DagSource } from '../dag-processing/dag-definition.ts';
import { RunDagAvailability } from '../dag-processing/run-availability.ts';
import { isDeferflowError, errorMessage } from '../errors/deferflow-error.ts';
import type { Store } from '../store/store.ts';
import type { StateChange, StateChangeBus } from '../store/state-change-bus.ts';
import { FINISHED_TI_STATES, type DagDoc, type DagRunDoc, type FailReason, type TaskInstanceDoc, type TaskInstanceState } from '../store/schema.ts';
import { TaskInstanceTransitions, type TiBatchResult } from '../store/transitions/task-instance-transitions.ts';
import { DagRunTransitions } from '../store/transitions/dag-run-transitions.ts';
import { DagRepository } from '../store/repositories/dag-repository.ts';
import { JobRepository } from '../store/repositories/job-repository.ts';
import { DagRunFlagRepository } from '../store/repositories/dag-run-flag-repository.ts';
import { CallbackRequestRepository } from '../store/repositories/callback-request-repository.ts';
import { isoUtc } from '../util/time-format.ts';
import { nextDagRunInfo } from '../dag/timetable.ts';
import { nextRetryDelayMs, retryJitterKey } from './retry-delay.ts';
import { decideTasks, isFinishedState, runOutcome } from './run-evaluator.ts';
import { taskSpecsOf } from './task-specs.ts';
import { mapLimit } from './map-limit.ts';
import { ChangeCursor, type CursorWindow } from './change-cursor.ts';
import { RunState, RunStates } from './run-states.ts';
import { DagCallbacks } from './dag-callbacks.ts';
import type { SchedulerLoopResult, SchedulerMetrics } from '../metrics/scheduler-metrics.ts';

export interface SchedulerOptions {
  store: Store;
  dagBag: DagSource;
  bus?: StateChangeBus;
  logger: Logger;
  /** Longest interval between passes when nothing wakes the scheduler (default 500 ms). */
  loopIntervalMs?: number;
  /** Shortest interval between two passes, and the poll interval while rows keep changing (default 15 ms). */
  minLoopIntervalMs?: number;
  /** Zombies, deferred deadlines, change windows and scheduled runs are looked at this often (default max(loopIntervalMs, 250)). */
  sweepIntervalMs?: number;
  /** Each run held is rebuilt from the database at least this often (default 60 s). */
  runRefreshMs?: number;
  /** How late a write may become visible after its `updated_at` stamp (clock skew, commits in flight; default 1000 ms). */
  changeLagMs?: number;
  /** Extra grace after a lease expired before its task counts as a zombie (default 0). */
  zombieThresholdMs?: number;
  /** Time source for schedules, retry delays and timeouts (tests pass a fake clock). */
  clock?: () => Date;
  id?: string;
  metrics?: SchedulerMetrics;
  /** Parallel single-row writes per step (zombies, deadlines; default 32). */
  writeConcurrency?: number;
  /** Scheduled runs created per DAG per pass at most (catchup backlogs drain over passes; default 16). */
  maxRunsCreatedPerLoop?: number;
  /** Job heartbeat period (default 5 s). */
  heartbeatMs?: number;
  /** Lease of a DAG callback being run (default 30 s). */
  callbackLeaseMs?: number;
}

/** Rows per page of a changed-rows read, and pages per pass before the rest waits for the next pass. */
const CHANGE_PAGE = 2000;
const CHANGE_PAGES = 10;
/** Windows checked per sweep at most (catching up after a pause takes a few sweeps). */
const WINDOWS_PER_SWEEP = 8;
/** Local changes buffered between passes before the scheduler reloads everything instead. */
const MAX_PENDING = 100_000;
const FINISHED: readonly TaskInstanceState[] = FINISHED_TI_STATES;

export class Scheduler {
  readonly id: string;
  private readonly store: Store;
  private readonly dagBag: DagSource;
  private readonly bus?: StateChangeBus;
  private readonly log: Logger;
  private readonly tis: TaskInstanceTransitions;
  private readonly runs: DagRunTransitions;
  private readonly dagRepo: DagRepository;
  private readonly jobs: JobRepository;
  private readonly runFlags: DagRunFlagRepository;
  private readonly availability: RunDagAvailability;
  private readonly callbacks: DagCallbacks;
  private readonly callbackRequests: CallbackRequestRepository;
  private readonly clock: () => Date;
  private readonly loopIntervalMs: number;
  private readonly minLoopIntervalMs: number;
  private readonly sweepIntervalMs: number;
  private readonly runRefreshMs: number;
  private readonly changeLagMs: number;
  private readonly zombieThresholdMs: number;
  private readonly concurrency: number;
  private readonly maxRunsPerLoop: number;
  private readonly heartbeatMs: number;
  private readonly metrics?: SchedulerMetrics;

  /** Queued and running runs, as last read. */
  private readonly active = new Map<string, DagRunDoc>();
  /** Running runs held in memory with their task instances. */
  private readonly states = new RunStates();
  private tiCursor: ChangeCursor<TaskInstanceDoc> | null = null;
  private runCursor: ChangeCursor<DagRunDoc> | null = null;
  /** Changes made by writers of this process, heard on the bus, applied at the next pass. */
  private pendingTis: TaskInstanceDoc[] = [];
  private pendingOverflow = false;
  private busSub?: Subscription;

  private sub?: Subscription;
  private readonly wake = new Subject<void>();
  private pollTimer?: NodeJS.Timeout;
  private pollDelayMs: number;
  private currentLoop: Promise<void> = Promise.resolve();
  private dirty = false;
  private stopping = false;
  private registered = false;
  private lastHeartbeat = 0;
  private lastPassStart = 0;
  private lastSweep = 0;

  constructor(opts: SchedulerOptions) {
    this.id = opts.id ?? `scheduler-${randomUUID()}`;
    this.store = opts.store;
    this.dagBag = opts.dagBag;
    this.bus = opts.bus;
    this.log = opts.logger.child({ component: 'scheduler', scheduler_id: this.id });
    this.tis = new TaskInstanceTransitions(opts.store, opts.bus, { writerId: this.id });
    this.runs = new DagRunTransitions(opts.store, opts.bus);
    this.dagRepo = new DagRepository(opts.store);
    this.jobs = new JobRepository(opts.store);
    this.runFlags = new DagRunFlagRepository(opts.store);
    this.availability = new RunDagAvailability({ store: opts.store, logger: this.log });
    this.callbackRequests = new CallbackRequestRepository(opts.store);
    this.callbacks = new DagCallbacks({
      store: opts.store,
      logger: this.log,
      ownerId: this.id,
      dagOf: (id) => this.dagBag.getDag(id),
      leaseMs: opts.callbackLeaseMs,
    });
    this.clock = opts.clock ?? (() => new Date());
    this.loopIntervalMs = opts.loopIntervalMs ?? 500;
    this.minLoopIntervalMs = Math.min(opts.minLoopIntervalMs ?? 15, this.loopIntervalMs);
    this.sweepIntervalMs = opts.sweepIntervalMs ?? Math.max(this.loopIntervalMs, 250);
    this.runRefreshMs = opts.runRefreshMs ?? 60_000;
    this.changeLagMs = opts.changeLagMs ?? 1000;
    this.zombieThresholdMs = opts.zombieThresholdMs ?? 0;
    this.concurrency = opts.writeConcurrency ?? 32;
    this.maxRunsPerLoop = opts.maxRunsCreatedPerLoop ?? 16;
    this.heartbeatMs = opts.heartbeatMs ?? 5000;
    this.metrics = opts.metrics;
    this.pollDelayMs = this.loopIntervalMs;
    this.listen();
  }

  /** Hear of this process's own changes on the bus from now on (they are then not read back). */
  private listen(): void {
    if (!this.bus || this.busSub) return;
    this.busSub = this.bus.changes$.subscribe((c) => this.onBusChange(c));
  }

  /** Register the SchedulerJob and start looping. */
  async start(): Promise<void> {
    if (this.sub) return;
    this.stopping = false;
    this.listen();
    await this.jobs.register('SchedulerJob', { id: this.id });
    this.registered = true;
    this.lastHeartbeat = Date.now();
    this.sub = this.wake
      .pipe(
        filter(() => ((this.dirty = true), !this.stopping)),
        exhaustMap(() => defer(() => from((this.currentLoop = this.loopWhileDirty()))).pipe(catchError(() => EMPTY))),
      )
      .subscribe();
    this.schedulePoll(0);
    this.log.info({ loopIntervalMs: this.loopIntervalMs, dags: this.dagBag.size }, 'scheduler started');
  }

  /** Stop looping (the pass in progress and DAG callbacks running finish) and mark the job stopped. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await this.currentLoop.catch(() => undefined);
    await this.callbacks.drain();
    this.busSub?.unsubscribe();
    this.busSub = undefined;
    // A restart reads everything again: what is held may be stale by then.
    this.forget();
    if (this.registered) await this.jobs.markStopped(this.id).catch(() => undefined);
    this.registered = false;
    this.log.info('scheduler stopped');
  }

  private forget(): void {
    this.active.clear();
    for (const rs of [...this.states.values()]) this.states.delete(rs.id);
    this.tiCursor = null;
    this.runCursor = null;
    this.pendingTis = [];
    this.pendingOverflow = false;
  }

  private schedulePoll(ms: number): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      if (!this.stopping) this.wake.next();
    }, ms);
  }

  private async loopWhileDirty(): Promise<void> {
    let changed = false;
    try {
      do {
        this.dirty = false;
        // Wake-ups closer together than minLoopIntervalMs share one pass.
        const wait = this.lastPassStart + this.minLoopIntervalMs - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (this.stopping) return;
        try {
          const r = await this.pass(false);
          changed ||= r.changes > 0;
        } catch (e) {
          this.metrics?.loopError?.(e);
          this.log.error({ err: e }, 'scheduler loop failed; retrying next interval');
          return;
        }
      } while (this.dirty && !this.stopping);
    } finally {
      this.pollDelayMs = changed ? this.minLoopIntervalMs : Math.min(this.loopIntervalMs, Math.max(this.minLoopIntervalMs, this.pollDelayMs * 2));
      if (!this.stopping && this.sub) this.schedulePoll(this.pollDelayMs);
    }
  }

  /** One whole pass: every step, sweeps included, reading all active runs again (tests, `dags test`). */
  async runOnce(): Promise<SchedulerLoopResult> {
    const { changes: _changes, ...result } = await this.pass(true);
    return result;
  }

  private async pass(full: boolean): Promise<SchedulerLoopResult & { changes: number }> {
    const t0 = performance.now();
    this.lastPassStart = t0;
    const now = this.clock();
    const nowMs = Date.now();
    const result = { runsCreated: 0, tisScheduled: 0, tisQueued: 0, runsFinished: 0, zombies: 0, loopMs: 0, changes: 0 };
    await this.heartbeatIfDue();
    const sweep = full || nowMs - this.lastSweep >= this.sweepIntervalMs;
    if (sweep) this.lastSweep = nowMs;

    // Each step is isolated: one that throws (a bad row, a DAG whose arguments cannot be used, a
    // transient database error) is logged and the pass goes on, so zombies are reaped and deadlines
    // enforced whatever else fails.
    const reload = full || this.runCursor === null || this.pendingOverflow;
    if (reload) await this.step('read active runs', undefined, () => this.readActiveRuns(nowMs));
    else result.changes += await this.step('read changed runs', 0, () => this.readChangedRuns());
    result.changes += await this.step('read changed task instances', 0, () => this.readChangedTis());
    result.changes += this.applyPending();
    await this.step('flag runs whose DAG cannot be loaded', undefined, () => this.availability.check([...this.active.values()], this.dagBag));
    if (sweep) result.runsCreated = await this.step('create scheduled runs', 0, () => this.createScheduledRuns(now));
    await this.step('start queued runs', undefined, () => this.startQueuedRuns(nowMs));
    await this.step('load running runs', undefined, () => this.loadRunningRuns(nowMs));
    await this.step('evaluate running runs', undefined, () => this.evaluateRuns(now, result));
    if (sweep) {
      result.zombies = await this.step('reap zombies', 0, () => this.reapZombies(now));
      await this.step('fail deferred tasks past their deadline', undefined, () => this.failDeferredPastDeadline(now));
      result.changes += await this.step('check change windows', 0, () => this.checkWindows(Date.now()));
      await this.step('rebuild a run from the database', undefined, () => this.refreshOldestRun(nowMs));
      await this.step('take over DAG callbacks of stopped schedulers', 0, () => this.callbacks.adoptOrphans([...this.dagBag.dags.keys()]));
    }
    result.changes += result.runsCreated + result.tisQueued + result.tisScheduled + result.runsFinished + result.zombies;

    result.loopMs = performance.now() - t0;
    const { changes: _c, ...reported } = result;
    this.metrics?.loop?.(reported);
    if (result.runsCreated || result.tisQueued || result.runsFinished || result.zombies) this.log.debug(reported, 'scheduler loop');
    return result;
  }

  /** Run one pass step; on error log it, count it, and return `fallback` so the pass goes on. */
  private async step<R>(name: string, fallback: R, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      this.metrics?.loopError?.(e);
      this.log.error({ err: e, step: name }, `scheduler step failed: ${name}; the other steps go on`);
      return fallback;
    }
  }

  private async heartbeatIfDue(): Promise<void> {
    if (!this.registered || Date.now() - this.lastHeartbeat < this.heartbeatMs) return;
    this.lastHeartbeat = Date.now();
    await this.jobs.heartbeat(this.id).catch((e: unknown) => this.log.warn({ err: e }, 'scheduler heartbeat failed'));
  }

  /** Runs of a DAG this scheduler cannot load are left alone here (RunDagAvailability flags them). */
  private dagOf(dagId: string): DAG | undefined {
    return this.dagBag.getDag(dagId);
  }

  // ------------------------------------------------------------------ 1. what changed

  /** Writers whose changes this scheduler hears of without reading them: itself, and this process's writers on its bus. */
  private knownWriters(): string[] {
    return this.busSub && this.bus ? [...new Set([this.id, ...this.bus.reportingWriters])] : [this.id];
  }

  /** Rows the task-instance reads leave out (see ChangeCursor): known writers' rows and running rows. */
  private tiExclusion(): { filter: Filter<TaskInstanceDoc>; excluded: (ti: TaskInstanceDoc) => boolean } {
    const writers = this.knownWriters();
    const set = new Set(writers);
    return {
      filter: { changed_by: { $nin: writers }, state: { $ne: 'running' } } as Filter<TaskInstanceDoc>,
      excluded: (ti) => (ti.changed_by != null && set.has(ti.changed_by)) || ti.state === 'running',
    };
  }

  private ensureCursors(nowMs: number): void {
    this.tiCursor ??= new ChangeCursor<TaskInstanceDoc>({ lagMs: this.changeLagMs, excluded: (ti) => this.tiExclusion().excluded(ti) }, nowMs);
    this.runCursor ??= new ChangeCursor<DagRunDoc>({ lagMs: this.changeLagMs, excluded: () => false }, nowMs);
  }

  private async readActiveRuns(nowMs: number): Promise<void> {
    this.pendingOverflow = false;
    this.pendingTis = [];
    this.ensureCursors(nowMs);
    // Everything held is re-read from here on: both cursors start over.
    this.runCursor!.restart(nowMs);
    this.tiCursor!.restart(nowMs);
    const rows = await this.store.dagRuns
      .find({ state: { $in: ['queued', 'running'] } })
      .sort({ logical_date: 1 })
      .toArray();
    this.active.clear();
    for (const r of rows) this.active.set(r._id, r);
    for (const rs of [...this.states.values()]) {
      const r = this.active.get(rs.id);
      if (r?.state !== 'running') this.states.delete(rs.id);
      else rs.loadedAt = 0; // reload its rows too (loadRunningRuns)
    }
  }

  /** A page-wise read of rows changed since the cursor (see ChangeCursor.fastRead). */
  private async readChanged<T extends { _id: string; updated_at: Date; version?: number }>(
    col: import('mongodb').Collection<T>,
    cursor: ChangeCursor<T>,
    exclusion: Filter<T>,
  ): Promise<T[]> {
    const out: T[] = [];
    for (let page = 0; page < CHANGE_PAGES; page++) {
      const { after, marginFrom, seen } = cursor.fastRead();
      const f = {
        ...exclusion,
        $or: [{ updated_at: { $gt: after } }, { updated_at: { $gte: marginFrom, $lte: after }, _id: { $nin: seen } }],
      } as Filter<T>;
      const rows = (await col.find(f).sort({ updated_at: 1, _id: 1 }).limit(CHANGE_PAGE).toArray()) as T[];
      out.push(...cursor.admit(rows, { fast: true }));
      if (rows.length < CHANGE_PAGE) break;
    }
    return out;
  }

  private async readChangedRuns(): Promise<number> {
    const rows = await this.readChanged(this.store.dagRuns, this.runCursor!, {});
    for (const r of rows) this.takeRun(r);
    return rows.length;
  }

  /** A run row newer than what is held. */
  private takeRun(r: DagRunDoc): void {
    const rs = this.states.get(r._id);
    if (r.state === 'queued' || r.state === 'running') this.active.set(r._id, r);
    else this.active.delete(r._id);
    if (!rs) return;
    if (r.state !== 'running') {
      this.states.delete(r._id);
      return;
    }
    // Cleared since: its rows changed wholesale; read them again.
    if ((r.clear_number ?? 0) !== (rs.run.clear_number ?? 0)) rs.loadedAt = 0;
    rs.run = r;
    rs.dirty = true;
  }

  private async readChangedTis(): Promise<number> {
    const { filter: exclusion } = this.tiExclusion();
    const rows = await this.readChanged(this.store.taskInstances, this.tiCursor!, exclusion);
    for (const ti of rows) this.states.applyTi(ti);
    return rows.length;
  }

  private onBusChange(c: StateChange): void {
    if (c.kind === 'task_instance') {
      if (c.ti.changed_by === this.id) return;
      if (this.pendingTis.length >= MAX_PENDING) this.pendingOverflow = true;
      else this.pendingTis.push(c.ti);
    }
    if (wakesScheduler(c, this.id)) this.wake.next();
  }

  /** Local writers' changes heard since the last pass. */
  private applyPending(): number {
    const rows = this.pendingTis;
    this.pendingTis = [];
    let n = 0;
    for (const ti of rows) {
      this.tiCursor?.noteOwn(ti);
      if (this.states.applyTi(ti)) n += 1;
    }
    return n;
  }

  /** Rows this scheduler wrote (or read back): into its memory and its cursor. */
  private took(ti: TaskInstanceDoc): void {
    this.tiCursor?.noteOwn(ti);
    this.states.applyTi(ti);
  }

  private tookBatch(r: TiBatchResult): void {
    for (const a of r.after) if (a) this.took(a);
    for (const row of r.current.values()) this.took(row);
  }

  private async checkWindows(nowMs: number): Promise<number> {
    let changes = 0;
    changes += await this.checkCursorWindows(this.store.taskInstances, this.tiCursor, this.tiExclusion().filter, nowMs, (rows) => {
      for (const ti of rows) this.states.applyTi(ti);
    });
    changes += await this.checkCursorWindows(this.store.dagRuns, this.runCursor, {}, nowMs, (rows) => {
      for (const r of rows) this.takeRun(r);
    });
    return changes;
  }

  /** Compare each due window's count and version sum with the server's; read the window when they differ. */
  private async checkCursorWindows<T extends { _id: string; updated_at: Date; version?: number }>(
    col: import('mongodb').Collection<T>,
    cursor: ChangeCursor<T> | null,
    exclusion: Filter<T>,
    nowMs: number,
    take: (rows: T[]) => void,
  ): Promise<number> {
    if (!cursor) return 0;
    let changes = 0;
    for (let i = 0; i < WINDOWS_PER_SWEEP; i++) {
      const w: CursorWindow | null = cursor.nextWindow(nowMs);
      if (!w) break;
      const match = { ...exclusion, updated_at: { $gte: w.from, $lt: w.to } } as Filter<T>;
      const [server] = await col
        .aggregate<{ n: number; v: number }>([{ $match: match }, { $group: { _id: null, n: { $sum: 1 }, v: { $sum: '$version' } } }])
        .toArray();
      const local = cursor.localChecksum(w);
      if ((server?.n ?? 0) !== local.n || (server?.v ?? 0) !== local.v) {
        const rows = cursor.admit((await col.find(match).toArray()) as T[], { fast: false });
        take(rows);
        changes += rows.length;
      }
      cursor.windowDone(w);
    }
    return changes;
  }

  // ------------------------------------------------------------------ 3. scheduled runs

  private async createScheduledRuns(now: Date): Promise<number> {
    const docs = await this.store.dags.find({ is_active: true, is_paused: false, schedule: { $ne: null } }).toArray();
    const activeByDag = new Map<string, number>();
    for (const r of this.active.values()) activeByDag.set(r.dag_id, (activeByDag.get(r.dag_id) ?? 0) + 1);
    let created = 0;
    for (const doc of docs) {
      const dag = this.dagBag.getDag(doc._id);
      if (!dag || dag.startDate === null) continue;
      try {
        created += await this.createRunsForDag(dag, doc, now, activeByDag.get(doc._id) ?? 0);
      } catch (e) {
        this.log.error({ err: e, dag_id: doc._id }, 'could not create scheduled runs');
      }
    }
    return created;
  }

  private async createRunsForDag(dag: DAG, doc: DagDoc, now: Date, activeCount: number): Promise<number> {
    let cursor =
      doc.last_automated_data_interval_start && doc.last_automated_data_interval_end
        ? { start: doc.last_automated_data_interval_start, end: doc.last_automated_data_interval_end }
        : null;
    let created = 0;
    for (let i = 0; i < this.maxRunsPerLoop; i++) {
      const info = nextDagRunInfo({
        schedule: dag.schedule,
        startDate: dag.startDate!,
        endDate: dag.endDate,
        catchup: dag.catchup,
        lastAutomatedDataInterval: cursor,
        now,
      });
      if (!info) {
        if (doc.next_dagrun !== null) await this.dagRepo.setNextRun(dag.dagId, null, null);
        return created;
      }
      if (info.runAfter > now || activeCount >= dag.maxActiveRuns) {
        if (doc.next_dagrun?.getTime() !== info.logicalDate.getTime()) await this.dagRepo.setNextRun(dag.dagId, info.logicalDate, info.runAfter);
        return created;
      }
      // Airflow's run id: scheduled__2025-04-09T00:00:00+00:00 (same form as manual__ ids).
      const runId = `scheduled__${isoUtc(info.logicalDate)}`;
      try {
        const run = await this.runs.create({ dagId: dag.dagId, runId, runType: 'scheduled', logicalDate: info.logicalDate, dataInterval: info.dataInterval });
        this.active.set(run._id, run);
        this.runCursor?.noteOwn(run);
        created += 1;
        activeCount += 1;
        this.log.info({ dag_id: dag.dagId, run_id: runId }, 'created scheduled run');
      } catch (e) {
        // Another scheduler created it first (or a crash left it behind): just advance the cursor.
        if (!(isDeferflowError(e) && e.code === 'DAG_RUN_EXISTS')) throw e;
      }
      const advanced = await this.dagRepo.advanceCursor(dag.dagId, cursor?.end ?? null, info.dataInterval, { logicalDate: null, createAfter: null });
      if (!advanced) return created; // someone else moved the cursor; re-read it next pass
      cursor = info.dataInterval;
      doc = { ...doc, next_dagrun: null };
    }
    return created;
  }

  // ------------------------------------------------------------------ 4. start queued runs, load running ones

  private async startQueuedRuns(nowMs: number): Promise<void> {
    const runningCount = new Map<string, number>();
    const queued = new Map<string, DagRunDoc[]>();
    const ordered = [...this.active.values()].sort((a, b) => a.logical_date.getTime() - b.logical_date.getTime());
    for (const r of ordered) {
      if (r.state === 'running') runningCount.set(r.dag_id, (runningCount.get(r.dag_id) ?? 0) + 1);
      else {
        let l = queued.get(r.dag_id);
        if (!l) queued.set(r.dag_id, (l = []));
        l.push(r);
      }
    }
    for (const [dagId, runs] of queued) {
      const dag = this.dagOf(dagId);
      if (!dag) continue;
      let n = runningCount.get(dagId) ?? 0;
      for (const run of runs) {
        if (n >= dag.maxActiveRuns) break;
        try {
          // The version it starts with, recorded once on the run (edited DAGs apply to new runs).
          const version = this.dagBag.versionOf(dagId);
          if (version && !run.dag_version) await this.runFlags.recordVersion(run._id, version);
          // Task instances first: a run never shows as running without them (integrity is re-checked anyway).
          const made = await this.tis.createRowsForRun(run, taskSpecsOf(dag));
          for (const ti of made.inserted) this.tiCursor?.noteOwn(ti);
          const started = await this.runs.start(run._id);
          if (!started) continue;
          this.active.set(started._id, started);
          this.runCursor?.noteOwn(started);
          n += 1;
          // Rows it made are known as written; rows another scheduler made are read.
          this.states.set(new RunState(started, made.inserted, made.complete ? nowMs : 0));
        } catch (e) {
          this.log.error({ err: e, dag_id: run.dag_id, run_id: run.run_id }, 'could not start queued run');
        }
      }
    }
  }

  /** Running runs not held yet (started elsewhere, or held too long without a rebuild): read their rows. */
  private async loadRunningRuns(nowMs: number): Promise<void> {
    for (const run of this.active.values()) {
      if (run.state !== 'running' || !this.dagOf(run.dag_id)) continue;
      const rs = this.states.get(run._id);
      if (rs && rs.loadedAt > 0) continue;
      await this.loadRun(run, nowMs);
    }
  }

  private async loadRun(run: DagRunDoc, nowMs: number): Promise<RunState> {
    const rows = await this.store.taskInstances.find({ dag_id: run.dag_id, run_id: run.run_id }).toArray();
    for (const ti of rows) this.tiCursor?.noteOwn(ti);
    let rs = this.states.get(run._id);
    if (rs) rs.reload(rows, nowMs);
    else this.states.set((rs = new RunState(run, rows, nowMs)));
    return rs;
  }

  /** The run rebuilt longest ago, when older than runRefreshMs: read again (a safety net for missed changes). */
  private async refreshOldestRun(nowMs: number): Promise<void> {
    let oldest: RunState | undefined;
    for (const rs of this.states.values()) if (!oldest || rs.loadedAt < oldest.loadedAt) oldest = rs;
    if (oldest && nowMs - oldest.loadedAt >= this.runRefreshMs) await this.loadRun(oldest.run, nowMs);
  }

  // ------------------------------------------------------------------ 5-6. evaluate runs, queue

  private async evaluateRuns(now: Date, result: SchedulerLoopResult): Promise<void> {
    const nowMs = now.getTime();
    const toQueue: Array<{ ti: TaskInstanceDoc; dag: DAG; rs: RunState }> = [];
    const retry: Array<{ ti: TaskInstanceDoc; dag: DAG; rs: RunState }> = [];
    for (const rs of [...this.states.values()]) {
      if (!rs.dueAt(nowMs)) continue;
      const dag = this.dagOf(rs.run.dag_id);
      if (!dag) continue;
      rs.dirty = false;
      rs.wakeAt = null;
      try {
        if (await this.evaluateRun(rs, dag, now, toQueue, retry)) result.runsFinished += 1;
      } catch (e) {
        // Looked at again after a while, not on every pass.
        rs.wakeAt = nowMs + this.loopIntervalMs;
        this.log.error({ err: e, dag_id: rs.run.dag_id, run_id: rs.run.run_id }, 'could not evaluate run');
      }
    }

    // Retries whose delay passed → scheduled, then queued with the others.
    if (retry.length) {
      const r = await this.tis.retryReadyMany(
        retry.map((x) => x.ti),
        now,
      );
      this.tookBatch(r);
      r.after.forEach((a, i) => {
        if (!a) return;
        result.tisScheduled += 1;
        toQueue.push({ ...retry[i]!, ti: a });
      });
    }
    if (toQueue.length === 0) return;

    // Resumes first (issue 14.3): they finish work already in flight, so they are queued even when
    // max_active_tasks is reached (they count towards it). Then by priority within capacity.
    const isResume = (ti: TaskInstanceDoc) => ti.next_method !== null;
    toQueue.sort((a, b) => Number(isResume(b.ti)) - Number(isResume(a.ti)) || b.ti.priority_weight - a.ti.priority_weight);
    const inSlots = this.states.inSlotsByDag();
    const picked: typeof toQueue = [];
    const overCapacity: typeof toQueue = [];
    for (const item of toQueue) {
      const used = inSlots.get(item.dag.dagId) ?? 0;
      if (isResume(item.ti) || used < item.dag.maxActiveTasks) {
        inSlots.set(item.dag.dagId, used + 1);
        picked.push(item);
      } else overCapacity.push(item);
    }
    const queued = await this.tis.queueMany(
      picked.map((p) => p.ti),
      { schedulerId: this.id },
    );
    this.tookBatch(queued);
    queued.after.forEach((a, i) => {
      if (a) {
        result.tisQueued += 1;
        if (picked[i]!.ti.state === null) result.tisScheduled += 1;
      } else {
        picked[i]!.rs.dirty = true;
        picked[i]!.rs.fullEval = true;
      }
    });
    // Ready but over capacity: none → scheduled, queued in a later pass.
    const fromNone = overCapacity.filter((x) => x.ti.state === null);
    if (fromNone.length) {
      const scheduled = await this.tis.scheduleMany(fromNone.map((x) => x.ti));
      this.tookBatch(scheduled);
      result.tisScheduled += scheduled.after.filter(Boolean).length;
    }
    // Over capacity now, maybe not in a moment: look at these runs again when something changes
    // (a finish frees capacity and marks its run dirty; other runs of the DAG wait for the poll).
    for (const x of overCapacity) x.rs.wakeAt = Math.min(x.rs.wakeAt ?? Number.POSITIVE_INFINITY, now.getTime() + this.loopIntervalMs);
  }

  /**
   * Evaluate one running run from memory. Pushes ready rows onto `toQueue` and rows whose retry
   * delay passed onto `retry`; applies everything else itself. True when this scheduler finished it.
   */
  private async evaluateRun(
    rs: RunState,
    dag: DAG,
    now: Date,
    toQueue: Array<{ ti: TaskInstanceDoc; dag: DAG; rs: RunState }>,
    retry: Array<{ ti: TaskInstanceDoc; dag: DAG; rs: RunState }>,
  ): Promise<boolean> {
    const run = rs.run;
    const nowMs = now.getTime();
    const wakeAt = (ms: number) => {
      rs.wakeAt = Math.min(rs.wakeAt ?? Number.POSITIVE_INFINITY, ms);
    };
    // Integrity (when the run was read again or its DAG changed): tasks added to the DAG get
    // instances; vanished tasks' instances are removed.
    if (rs.fullEval || rs.checkedDag !== dag) {
      rs.checkedDag = dag;
      const missing = dag.taskIds.filter((id) => !rs.tis.has(id));
      if (missing.length) {
        const made = await this.tis.createRowsForRun(run, taskSpecsOf(dag, missing));
        for (const ti of made.inserted) this.took(ti);
        if (!made.complete) {
          await this.loadRun(run, Date.now());
          return false;
        }
      }
      for (const ti of [...rs.tis.values()]) {
        if (dag.hasTask(ti.task_id) || isFinishedState(ti.state) || ti.state === 'running' || ti.state === 'queued') continue;
        const removed = await this.tis.removeMissingTaskAndDropTrigger(ti);
        if (removed) this.took(removed);
        else rs.loadedAt = 0;
      }
      rs.fullEval = true;
    }

    const stateOf = (taskId: string): TaskInstanceState | undefined => (dag.hasTask(taskId) ? rs.tis.get(taskId)?.state : undefined);

    // dagrun_timeout: unfinished tasks are skipped and the run fails (Airflow's behaviour).
    if (dag.dagrunTimeoutMs !== null && run.start_date) {
      const deadline = run.start_date.getTime() + dag.dagrunTimeoutMs;
      if (nowMs > deadline) {
        await mapLimit(
          [...rs.tis.values()].filter((t) => dag.hasTask(t.task_id) && !isFinishedState(t.state)),
          this.concurrency,
          (t) => this.tis.markStateAndDropTrigger(t._id, 'skipped'),
        );
        return this.finishRun(rs, dag, 'failed', 'dagrun_timeout exceeded');
      }
      wakeAt(deadline + 1);
    }

    // Trigger rules of the none-state tasks whose upstream changed (all of them when the run is new
    // or was read again), in waves: a settled skip / upstream_failed is seen by its downstream next
    // wave; each wave is one write. A lost write means the run changed: it is evaluated again, whole.
    let candidates = new Set<string>(rs.fullEval ? rs.inState(null) : []);
    if (!rs.fullEval) {
      for (const id of rs.changed) {
        candidates.add(id);
        if (dag.hasTask(id)) for (const d of dag.getTask(id).downstreamTaskIds) candidates.add(d);
      }
    }
    rs.fullEval = false;
    rs.changed.clear();
    for (let wave = 0; wave <= dag.taskIds.length && candidates.size > 0; wave++) {
      const decisions = decideTasks(dag, stateOf, candidates);
      const settle = [...decisions].filter(([, d]) => d !== 'ready') as Array<[string, 'skipped' | 'upstream_failed']>;
      if (settle.length === 0) {
        for (const [taskId] of decisions) toQueue.push({ ti: rs.tis.get(taskId)!, dag, rs });
        break;
      }
      const r = await this.tis.settleMany(settle.map(([taskId, state]) => ({ ti: rs.tis.get(taskId)!, state })));
      this.tookBatch(r);
      if (r.after.some((a) => a === null)) {
        rs.fullEval = true;
        rs.dirty = true;
        return false;
      }
      candidates = new Set<string>();
      for (const [taskId] of settle) for (const d of dag.getTask(taskId).downstreamTaskIds) candidates.add(d);
      // Ready ones of this wave are decided again next wave (their upstream did not change).
      for (const [taskId, d] of decisions) if (d === 'ready') candidates.add(taskId);
    }
    // What this evaluation wrote itself needs no second look.
    rs.changed.clear();

    // Retries whose delay passed → scheduled (then queued); scheduled rows are queued.
    for (const state of ['up_for_retry', 'up_for_reschedule'] as const) {
      for (const id of rs.inState(state)) {
        const t = rs.tis.get(id)!;
        if (!dag.hasTask(id)) continue;
        if (t.scheduled_after === null || t.scheduled_after.getTime() <= nowMs) retry.push({ ti: t, dag, rs });
        else wakeAt(t.scheduled_after.getTime());
      }
    }
    for (const id of rs.inState('scheduled')) if (dag.hasTask(id)) toQueue.push({ ti: rs.tis.get(id)!, dag, rs });

    // The outcome needs every row: looked at only once nothing but none-state rows may be left.
    let active = 0;
    for (const [state, ids] of rs.byState) if (state !== null && !isFinishedState(state)) active += ids.size;
    if (active > 0) return false;
    const states = new Map<string, TaskInstanceState>(dag.taskIds.map((id) => [id, stateOf(id) ?? null]));
    const outcome = runOutcome(dag, states);
    if (outcome === null) return false;
    if (outcome === 'deadlock') {
      this.log.warn({ dag_id: run.dag_id, run_id: run.run_id }, 'deadlock: no task can ever run; marking the run failed');
      return this.finishRun(rs, dag, 'failed', 'deadlock: remaining tasks can never be scheduled', true);
    }
    return this.finishRun(rs, dag, outcome);
  }

  /**
   * Finish a run whose rows in memory say it is done — once the database agrees (memory may lag
   * behind a clear or a late write; then the run is read again instead). The DAG callback is
   * requested before the finish and run after it (dag-callbacks.ts).
   */
  private async finishRun(rs: RunState, dag: DAG, state: 'success' | 'failed', reason?: string, deadlock = false): Promise<boolean> {
    const run = rs.run;
    const notDone: readonly TaskInstanceState[] = deadlock ? [...FINISHED, null] : FINISHED;
    const left = await this.store.taskInstances.countDocuments({ dag_id: run.dag_id, run_id: run.run_id, state: { $nin: [...notDone] } });
    if (left > 0) {
      await this.loadRun(run, Date.now());
      return false;
    }
    const request = await this.callbacks.request(run, dag, state, reason);
    const done = await this.runs.finish(run._id, state);
    if (!done) {
      // Another scheduler (or a user) got there first.
      if (request) await this.callbacks.withdraw(request);
      this.states.delete(run._id);
      return false;
    }
    this.states.delete(run._id);
    this.active.delete(run._id);
    this.runCursor?.noteOwn(done);
    const durationMs = done.start_date && done.end_date ? done.end_date.getTime() - done.start_date.getTime() : null;
    this.log.info({ dag_id: run.dag_id, run_id: run.run_id, state, reason }, `DAG run ${state}`);
    this.metrics?.dagRunFinished?.({ dagId: run.dag_id, runId: run.run_id, state, durationMs });
    if (request) this.callbacks.start(request, dag);
    return true;
  }

  // ------------------------------------------------------------------ 7. zombies

  private async reapZombies(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.zombieThresholdMs);
    const zombies = await this.store.taskInstances
      .find({ state: 'running', lease_expires_at: { $lt: cutoff } })
      .limit(500)
      .toArray();
    const reaped = await mapLimit(zombies, this.concurrency, async (ti) => {
      const dag = this.dagBag.getDag(ti.dag_id);
      const task = dag?.hasTask(ti.task_id) ? dag.getTask(ti.task_id) : undefined;
      let retryAt: Date | null = null;
      let reason = `Zombie: worker ${ti.worker_id ?? '?'} on ${ti.hostname ?? '?'} stopped heartbeating (lease expired ${ti.lease_expires_at?.toISOString()})`;
      if (task) {
        try {
          const delay = nextRetryDelayMs({
            retryDelayMs: task.retryDelayMs,
            exponentialBackoff: task.retryExponentialBackoff,
            maxRetryDelayMs: task.maxRetryDelayMs,
            tryNumber: Math.max(1, ti.try_number),
            jitterKey: retryJitterKey({ dagId: ti.dag_id, taskId: ti.task_id, logicalDate: ti.logical_date, tryNumber: Math.max(1, ti.try_number) }),
          });
          retryAt = new Date(now.getTime() + delay);
        } catch (e) {
          // The task's retry arguments cannot be used: no retry can be scheduled, so the try fails
          // with the reason instead of staying a zombie that every pass trips over.
          reason += `; no retry: its retry delay cannot be computed (${errorMessage(e)})`;
        }
      }
      // The task's on_failure / on_retry callback, requested before the reap (a worker runs it).
      const willRetry = retryAt !== null && ti.try_number <= ti.max_tries;
      const request = await this.callbackRequests
        .create(
          {
            kind: 'task',
            dag_id: ti.dag_id,
            run_id: ti.run_id,
            task_id: ti.task_id,
            try_number: ti.try_number,
            state: willRetry ? 'up_for_retry' : 'failed',
            callback: willRetry ? 'on_retry_callback' : 'on_failure_callback',
            reason,
            clear_number: null,
          },
          this.id,
          0,
        )
        .catch((e: unknown) => this.writeFailed(e, ti));
      const after = await this.tis.reapZombie(ti, retryAt, reason).catch((e: unknown) => this.writeFailed(e, ti));
      if (!after) {
        if (request) await this.callbackRequests.delete(request._id).catch(() => undefined);
        return false;
      }
      this.took(after);
      this.log.warn({ dag_id: ti.dag_id, run_id: ti.run_id, task_id: ti.task_id, try_number: ti.try_number, state: after.state }, reason);
      this.metrics?.zombieReaped?.({ dagId: ti.dag_id, taskId: ti.task_id, outcome: after.state === 'up_for_retry' ? 'up_for_retry' : 'failed' });
      return true;
    });
    return reaped.filter(Boolean).length;
  }

  private writeFailed(e: unknown, ti: { _id: string }): null {
    this.log.warn({ err: e, ti: ti._id }, 'task instance write failed');
    return null;
  }

  // ------------------------------------------------------------------ 7. deferred past deadline

  private async failDeferredPastDeadline(now: Date): Promise<void> {
    const late = await this.store.taskInstances
      .find({ state: 'deferred', $or: [{ trigger_timeout: { $lt: now } }, { execution_deadline: { $lt: now } }] })
      .limit(500)
      .toArray();
    await mapLimit(late, this.concurrency, async (ti) => {
      const byTrigger = ti.trigger_timeout !== null && ti.trigger_timeout < now;
      const reason: FailReason = byTrigger
        ? { kind: 'trigger_timeout', message: `Trigger timeout: the trigger did not fire before ${ti.trigger_timeout!.toISOString()}` }
        : { kind: 'execution_timeout', message: `Task timed out: execution_timeout reached at ${ti.execution_deadline!.toISOString()} while deferred` };
      const after = await this.tis.failPastDeadlineAndDropTrigger(ti, reason).catch((e: unknown) => this.writeFailed(e, ti));
      if (!after) return;
      this.took(after);
      this.log.warn({ dag_id: ti.dag_id, run_id: ti.run_id, task_id: ti.task_id }, reason.message);
      this.metrics?.deferredTimedOut?.({
        dagId: ti.dag_id,
        taskId: ti.task_id,
        reason: reason.kind === 'trigger_timeout' ? 'trigger_timeout' : 'execution_timeout',
      });
    });
  }

  /** Held rows, for tests and diagnostics: runs held and rows remembered by the change cursor. */
  get held(): { runs: number; taskInstances: number; cursorRows: number } {
    let tis = 0;
    for (const rs of this.states.values()) tis += rs.tis.size;
    return { runs: this.states.size, taskInstances: tis, cursorRows: this.tiCursor?.size ?? 0 };
  }
}

/** Changes worth a pass at once: a task finished / needs a retry / was resumed or cleared, or a run appeared. */
function wakesScheduler(c: StateChange, self: string): boolean {
  if (c.kind === 'dag_run') return c.previous === undefined || c.run.state === 'queued';
  if (c.kind === 'task_instance') {
    if (c.ti.changed_by === self) return false;
    const s = c.ti.state;
    return (
      isFinishedState(s) ||
      s === 'up_for_retry' ||
      s === 'up_for_reschedule' ||
      s === 'deferred' ||
      (s === 'scheduled' && c.previous === 'deferred') ||
      s === null
    );
  }
  return false;
}
