/**
 * The scheduler: turns schedules into DAG runs and decides, run by run, which task instances are
 * ready. Its loop is an RxJS observable — a poll interval merged with wake-ups from the state-change
 * bus, through `exhaustMap` so two loops never overlap (a wake-up during a loop runs one more loop
 * right after it instead of being lost).
 *
 * Each loop (`runOnce`):
 *   0. flag active runs whose DAG no scheduler can load (and unflag those whose DAG loads again);
 *   1. create scheduled runs from timetables (unpaused active DAGs; cursor in the dags doc);
 *   2. start queued runs up to max_active_runs (creating their task instances first);
 *   3. for running runs, from ONE query of their task instances: add missing / remove vanished
 *      tasks, enforce dagrun_timeout, evaluate trigger rules of none-state tasks in memory
 *      (settling skipped / upstream_failed in waves so they propagate in the same loop), move
 *      up_for_retry whose delay passed back to scheduled, queue ready tasks up to max_active_tasks,
 *      and finish runs whose task instances are all finished (DAG callbacks);
 *   4. reap zombies (running with an expired lease) → up_for_retry / failed;
 *   5. fail deferred tasks past trigger timeout or execution deadline (`__fail__`), deleting their
 *      trigger.
 * Every write is a guarded transition, so several schedulers may run at once: a write that loses a
 * race does nothing and the loser moves on.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { EMPTY, type Subscription, defer, exhaustMap, filter, from, merge, timer, catchError, NEVER } from 'rxjs';
import type { DagDefinition as DAG, DagSource } from '../dag-processing/dag-definition.ts';
import { RunDagAvailability } from '../dag-processing/run-availability.ts';
import { isDeferflowError, errorMessage } from '../errors/deferflow-error.ts';
import type { Store } from '../store/store.ts';
import type { StateChange, StateChangeBus } from '../store/state-change-bus.ts';
import { dagRunId, type DagDoc, type DagRunDoc, type FailReason, type TaskInstanceDoc, type TaskInstanceState } from '../store/schema.ts';
import { TaskInstanceTransitions } from '../store/transitions/task-instance-transitions.ts';
import { DagRunTransitions } from '../store/transitions/dag-run-transitions.ts';
import { DagRepository } from '../store/repositories/dag-repository.ts';
import { JobRepository } from '../store/repositories/job-repository.ts';
import { DagRunFlagRepository } from '../store/repositories/dag-run-flag-repository.ts';
import { nextDagRunInfo } from '../dag/timetable.ts';
import { nextRetryDelayMs, retryJitterKey } from './retry-delay.ts';
import { decideNoneStateTasks, isFinishedState, runOutcome } from './run-evaluator.ts';
import { taskSpecsOf } from './task-specs.ts';
import { mapLimit } from './map-limit.ts';
import type { SchedulerLoopResult, SchedulerMetrics } from './scheduler-metrics.ts';

export interface SchedulerOptions {
  store: Store;
  dagBag: DagSource;
  bus?: StateChangeBus;
  logger: Logger;
  /** Poll interval between loops when nothing wakes the scheduler (default 500 ms). */
  loopIntervalMs?: number;
  /** Extra grace after a lease expired before its task counts as a zombie (default 0). */
  zombieThresholdMs?: number;
  /** Time source for schedules, retry delays and timeouts (tests pass a fake clock). */
  clock?: () => Date;
  id?: string;
  metrics?: SchedulerMetrics;
  /** Parallel writes per loop (default 32). */
  writeConcurrency?: number;
  /** Scheduled runs created per DAG per loop at most (catchup backlogs drain over loops; default 16). */
  maxRunsCreatedPerLoop?: number;
  /** Job heartbeat period (default 5 s). */
  heartbeatMs?: number;
}

/** Fields of a task instance the per-run evaluation needs (one projection for the hot query). */
const TI_PROJECTION = { _id: 1, dag_id: 1, run_id: 1, task_id: 1, state: 1, scheduled_after: 1, priority_weight: 1, trigger_id: 1 } as const;
type TiView = Pick<TaskInstanceDoc, keyof typeof TI_PROJECTION>;

const ACTIVE_IN_SLOT: ReadonlySet<TaskInstanceState> = new Set<TaskInstanceState>(['queued', 'running']);

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
  private readonly clock: () => Date;
  private readonly loopIntervalMs: number;
  private readonly zombieThresholdMs: number;
  private readonly concurrency: number;
  private readonly maxRunsPerLoop: number;
  private readonly heartbeatMs: number;
  private readonly metrics?: SchedulerMetrics;

  private sub?: Subscription;
  private currentLoop: Promise<void> = Promise.resolve();
  private dirty = false;
  private stopping = false;
  private registered = false;
  private lastHeartbeat = 0;

  constructor(opts: SchedulerOptions) {
    this.id = opts.id ?? `scheduler-${randomUUID()}`;
    this.store = opts.store;
    this.dagBag = opts.dagBag;
    this.bus = opts.bus;
    this.log = opts.logger.child({ component: 'scheduler', scheduler_id: this.id });
    this.tis = new TaskInstanceTransitions(opts.store, opts.bus);
    this.runs = new DagRunTransitions(opts.store, opts.bus);
    this.dagRepo = new DagRepository(opts.store);
    this.jobs = new JobRepository(opts.store);
    this.runFlags = new DagRunFlagRepository(opts.store);
    this.availability = new RunDagAvailability({ store: opts.store, logger: this.log });
    this.clock = opts.clock ?? (() => new Date());
    this.loopIntervalMs = opts.loopIntervalMs ?? 500;
    this.zombieThresholdMs = opts.zombieThresholdMs ?? 0;
    this.concurrency = opts.writeConcurrency ?? 32;
    this.maxRunsPerLoop = opts.maxRunsCreatedPerLoop ?? 16;
    this.heartbeatMs = opts.heartbeatMs ?? 5000;
    this.metrics = opts.metrics;
  }

  /** Register the SchedulerJob and start looping. */
  async start(): Promise<void> {
    if (this.sub) return;
    this.stopping = false;
    await this.jobs.register('SchedulerJob', { id: this.id });
    this.registered = true;
    this.lastHeartbeat = Date.now();
    const wake$ = this.bus ? this.bus.changes$.pipe(filter((c) => wakesScheduler(c))) : NEVER;
    this.sub = merge(timer(0, this.loopIntervalMs), wake$.pipe(filter(() => ((this.dirty = true), true))))
      .pipe(
        filter(() => !this.stopping),
        exhaustMap(() => defer(() => from((this.currentLoop = this.loopWhileDirty()))).pipe(catchError(() => EMPTY))),
      )
      .subscribe();
    this.log.info({ loopIntervalMs: this.loopIntervalMs, dags: this.dagBag.size }, 'scheduler started');
  }

  /** Stop looping (the loop in progress finishes) and mark the job stopped. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sub?.unsubscribe();
    this.sub = undefined;
    await this.currentLoop.catch(() => undefined);
    if (this.registered) await this.jobs.markStopped(this.id).catch(() => undefined);
    this.registered = false;
    this.log.info('scheduler stopped');
  }

  private async loopWhileDirty(): Promise<void> {
    do {
      this.dirty = false;
      try {
        await this.runOnce();
      } catch (e) {
        this.metrics?.loopError?.(e);
        this.log.error({ err: e }, 'scheduler loop failed; retrying next interval');
        return;
      }
    } while (this.dirty && !this.stopping);
  }

  /** One scheduling loop; see the file comment for the steps. */
  async runOnce(): Promise<SchedulerLoopResult> {
    const t0 = performance.now();
    const now = this.clock();
    const result: SchedulerLoopResult = { runsCreated: 0, tisScheduled: 0, tisQueued: 0, runsFinished: 0, zombies: 0, loopMs: 0 };
    await this.heartbeatIfDue();

    // Each step is isolated: one that throws (a bad row, a DAG whose arguments cannot be used, a
    // transient database error) is logged and the loop goes on, so zombies are reaped and deadlines
    // enforced every loop whatever else fails.
    const active = await this.step('read active runs', [] as DagRunDoc[], () =>
      this.store.dagRuns
        .find({ state: { $in: ['queued', 'running'] } })
        .sort({ logical_date: 1 })
        .toArray(),
    );
    // Runs whose DAG nobody can load are flagged (never silently queued).
    await this.step('flag runs whose DAG cannot be loaded', undefined, () => this.availability.check(active, this.dagBag));
    result.runsCreated = await this.step('create scheduled runs', 0, () => this.createScheduledRuns(now, active));
    const running = await this.step('start queued runs', [] as DagRunDoc[], () => this.startQueuedRuns(active));
    await this.step('evaluate running runs', undefined, () => this.processRunningRuns(running, now, result));
    result.zombies = await this.step('reap zombies', 0, () => this.reapZombies(now));
    await this.step('fail deferred tasks past their deadline', undefined, () => this.failDeferredPastDeadline(now));

    result.loopMs = performance.now() - t0;
    this.metrics?.loop?.(result);
    if (result.runsCreated || result.tisQueued || result.runsFinished || result.zombies) this.log.debug(result, 'scheduler loop');
    return result;
  }

  /** Run one loop step; on error log it, count it, and return `fallback` so the loop goes on. */
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

  // ------------------------------------------------------------------ 1. scheduled runs

  private async createScheduledRuns(now: Date, active: DagRunDoc[]): Promise<number> {
    const docs = await this.store.dags.find({ is_active: true, is_paused: false, schedule: { $ne: null } }).toArray();
    const activeByDag = new Map<string, number>();
    for (const r of active) activeByDag.set(r.dag_id, (activeByDag.get(r.dag_id) ?? 0) + 1);
    let created = 0;
    for (const doc of docs) {
      const dag = this.dagBag.getDag(doc._id);
      if (!dag || dag.startDate === null) continue;
      try {
        created += await this.createRunsForDag(dag, doc, now, activeByDag.get(doc._id) ?? 0, active);
      } catch (e) {
        this.log.error({ err: e, dag_id: doc._id }, 'could not create scheduled runs');
      }
    }
    return created;
  }

  private async createRunsForDag(dag: DAG, doc: DagDoc, now: Date, activeCount: number, active: DagRunDoc[]): Promise<number> {
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
      const runId = `scheduled__${info.logicalDate.toISOString()}`;
      try {
        const run = await this.runs.create({ dagId: dag.dagId, runId, runType: 'scheduled', logicalDate: info.logicalDate, dataInterval: info.dataInterval });
        active.push(run);
        created += 1;
        activeCount += 1;
        this.log.info({ dag_id: dag.dagId, run_id: runId }, 'created scheduled run');
      } catch (e) {
        // Another scheduler created it first (or a crash left it behind): just advance the cursor.
        if (!(isDeferflowError(e) && e.code === 'DAG_RUN_EXISTS')) throw e;
      }
      const advanced = await this.dagRepo.advanceCursor(dag.dagId, cursor?.end ?? null, info.dataInterval, { logicalDate: null, createAfter: null });
      if (!advanced) return created; // someone else moved the cursor; re-read it next loop
      cursor = info.dataInterval;
      doc = { ...doc, next_dagrun: null };
    }
    return created;
  }

  // ------------------------------------------------------------------ 2. start queued runs

  private async startQueuedRuns(active: DagRunDoc[]): Promise<DagRunDoc[]> {
    const running: DagRunDoc[] = [];
    const byDag = new Map<string, DagRunDoc[]>();
    for (const r of active) {
      if (r.state === 'running') running.push(r);
      else {
        let l = byDag.get(r.dag_id);
        if (!l) byDag.set(r.dag_id, (l = []));
        l.push(r);
      }
    }
    const runningCount = new Map<string, number>();
    for (const r of running) runningCount.set(r.dag_id, (runningCount.get(r.dag_id) ?? 0) + 1);
    for (const [dagId, queued] of byDag) {
      const dag = this.dagOf(dagId);
      if (!dag) continue;
      let n = runningCount.get(dagId) ?? 0;
      for (const run of queued) {
        if (n >= dag.maxActiveRuns) break;
        try {
          // The version it starts with, recorded once on the run (edited DAGs apply to new runs).
          const version = this.dagBag.versionOf(dagId);
          if (version && !run.dag_version) await this.runFlags.recordVersion(run._id, version);
          // Task instances first: a run never shows as running without them (integrity is re-checked anyway).
          await this.tis.createForRun(run, taskSpecsOf(dag));
          const started = await this.runs.start(run._id);
          if (started) {
            running.push(started);
            n += 1;
          }
        } catch (e) {
          this.log.error({ err: e, dag_id: run.dag_id, run_id: run.run_id }, 'could not start queued run');
        }
      }
    }
    return running;
  }

  // ------------------------------------------------------------------ 3. running runs

  private async processRunningRuns(running: DagRunDoc[], now: Date, result: SchedulerLoopResult): Promise<void> {
    const withDag = running.map((run) => ({ run, dag: this.dagOf(run.dag_id) })).filter((x): x is { run: DagRunDoc; dag: DAG } => x.dag !== undefined);
    if (withDag.length === 0) return;
    const tiDocs = (await this.store.taskInstances
      .find(
        { dag_id: { $in: [...new Set(withDag.map((x) => x.run.dag_id))] }, run_id: { $in: [...new Set(withDag.map((x) => x.run.run_id))] } },
        { projection: TI_PROJECTION },
      )
      .toArray()) as TiView[];
    const byRun = new Map<string, TiView[]>();
    for (const ti of tiDocs) {
      const k = dagRunId(ti.dag_id, ti.run_id);
      let l = byRun.get(k);
      if (!l) byRun.set(k, (l = []));
      l.push(ti);
    }
    // max_active_tasks is per DAG across its runs: count queued + running.
    const inSlots = new Map<string, number>();
    for (const ti of tiDocs) if (ACTIVE_IN_SLOT.has(ti.state)) inSlots.set(ti.dag_id, (inSlots.get(ti.dag_id) ?? 0) + 1);

    const toQueue: Array<{ ti: TiView; dag: DAG; fromNone: boolean }> = [];
    for (const { run, dag } of withDag) {
      try {
        const finished = await this.processRun(run, dag, byRun.get(run._id) ?? [], now, result, toQueue);
        if (finished) result.runsFinished += 1;
      } catch (e) {
        this.log.error({ err: e, dag_id: run.dag_id, run_id: run.run_id }, 'could not evaluate run');
      }
    }

    // Queue by priority within each DAG's free capacity.
    toQueue.sort((a, b) => b.ti.priority_weight - a.ti.priority_weight);
    const picked: typeof toQueue = [];
    const notPicked: typeof toQueue = [];
    for (const item of toQueue) {
      const used = inSlots.get(item.dag.dagId) ?? 0;
      if (used < item.dag.maxActiveTasks) {
        inSlots.set(item.dag.dagId, used + 1);
        picked.push(item);
      } else notPicked.push(item);
    }
    const queued = await mapLimit(picked, this.concurrency, async ({ ti, fromNone }) =>
      (fromNone ? this.tis.queueFromNone(ti._id) : this.tis.queue(ti._id)).catch((e: unknown) => this.writeFailed(e, ti)),
    );
    result.tisQueued += queued.filter(Boolean).length;
    result.tisScheduled += picked.filter((p, i) => p.fromNone && queued[i]).length;
    // Ready but over capacity: none → scheduled, queued in a later loop.
    const scheduled = await mapLimit(
      notPicked.filter((x) => x.fromNone),
      this.concurrency,
      ({ ti }) => this.tis.schedule(ti._id).catch((e: unknown) => this.writeFailed(e, ti)),
    );
    result.tisScheduled += scheduled.filter(Boolean).length;
  }

  private writeFailed(e: unknown, ti: { _id: string }): null {
    this.log.warn({ err: e, ti: ti._id }, 'task instance write failed');
    return null;
  }

  /**
   * Evaluate one running run. Pushes ready tasks onto `toQueue` (none-state ones flagged), applies
   * everything else itself. Returns true when this scheduler finished the run.
   */
  private async processRun(
    run: DagRunDoc,
    dag: DAG,
    tis: TiView[],
    now: Date,
    result: SchedulerLoopResult,
    toQueue: Array<{ ti: TiView; dag: DAG; fromNone: boolean }>,
  ): Promise<boolean> {
    // Integrity: tasks added to the DAG get instances; vanished tasks' instances are removed.
    const present = new Set(tis.map((t) => t.task_id));
    const missing = dag.taskIds.filter((id) => !present.has(id));
    if (missing.length) {
      await this.tis.createForRun(run, taskSpecsOf(dag, missing));
      const fresh = (await this.store.taskInstances
        .find({ dag_id: run.dag_id, run_id: run.run_id, task_id: { $in: missing } }, { projection: TI_PROJECTION })
        .toArray()) as TiView[];
      tis.push(...fresh);
    }
    for (const ti of tis) {
      if (dag.hasTask(ti.task_id) || isFinishedState(ti.state) || ti.state === 'running' || ti.state === 'queued') continue;
      const removed = await this.tis.removeMissingTaskAndDropTrigger(ti);
      if (removed) ti.state = 'removed';
    }

    const byTask = new Map(tis.filter((t) => dag.hasTask(t.task_id)).map((t) => [t.task_id, t]));
    const states = new Map<string, TaskInstanceState>([...byTask].map(([id, t]) => [id, t.state]));

    // dagrun_timeout: unfinished tasks are skipped and the run fails (Airflow's behaviour).
    if (dag.dagrunTimeoutMs !== null && run.start_date && now.getTime() - run.start_date.getTime() > dag.dagrunTimeoutMs) {
      await mapLimit(
        tis.filter((t) => !isFinishedState(t.state)),
        this.concurrency,
        (t) => this.tis.markStateAndDropTrigger(t._id, 'skipped'),
      );
      return this.finishRun(run, dag, 'failed', 'dagrun_timeout exceeded');
    }

    // Trigger rules in waves: a settled skip / upstream_failed is seen by its downstream next wave.
    for (let wave = 0; wave <= dag.taskIds.length; wave++) {
      const decisions = decideNoneStateTasks(dag, states);
      const settle = [...decisions].filter(([, d]) => d !== 'ready') as Array<[string, 'skipped' | 'upstream_failed']>;
      if (settle.length === 0) {
        for (const [taskId] of decisions) toQueue.push({ ti: byTask.get(taskId)!, dag, fromNone: true });
        break;
      }
      const done = await mapLimit(settle, this.concurrency, ([taskId, d]) => this.tis.settleWithoutRunning(byTask.get(taskId)!._id, d));
      let progressed = false;
      settle.forEach(([taskId, d], i) => {
        if (done[i]) {
          states.set(taskId, d);
          byTask.get(taskId)!.state = d;
          progressed = true;
        } else {
          // Lost the race: its real state is unknown now, so count it as "not done" for this loop.
          states.set(taskId, 'scheduled');
        }
      });
      if (!progressed) break;
    }

    // Retries whose delay passed → scheduled, and queue them with the scheduled ones.
    for (const t of byTask.values()) {
      if (t.state === 'up_for_retry' && (t.scheduled_after === null || t.scheduled_after <= now)) {
        const r = await this.tis.retryReady(t._id, 'up_for_retry', now);
        if (r) {
          t.state = 'scheduled';
          states.set(t.task_id, 'scheduled');
          result.tisScheduled += 1;
        }
      }
      if (t.state === 'scheduled') toQueue.push({ ti: t, dag, fromNone: false });
    }

    const outcome = runOutcome(dag, states);
    if (outcome === null) return false;
    if (outcome === 'deadlock') {
      this.log.warn({ dag_id: run.dag_id, run_id: run.run_id }, 'deadlock: no task can ever run; marking the run failed');
      return this.finishRun(run, dag, 'failed', 'deadlock: remaining tasks can never be scheduled');
    }
    return this.finishRun(run, dag, outcome);
  }

  private async finishRun(run: DagRunDoc, dag: DAG, state: 'success' | 'failed', reason?: string): Promise<boolean> {
    const done = await this.runs.finish(run._id, state);
    if (!done) return false; // another scheduler (or a user) got there first
    const durationMs = done.start_date && done.end_date ? done.end_date.getTime() - done.start_date.getTime() : null;
    this.log.info({ dag_id: run.dag_id, run_id: run.run_id, state, reason }, `DAG run ${state}`);
    this.metrics?.dagRunFinished?.({ dagId: run.dag_id, runId: run.run_id, state, durationMs });
    const cb = state === 'success' ? dag.onSuccessCallback : dag.onFailureCallback;
    if (cb) {
      try {
        await cb({ dagId: run.dag_id, runId: run.run_id, state, reason });
      } catch (e) {
        this.log.error(
          { err: e, dag_id: run.dag_id, run_id: run.run_id },
          `DAG ${state === 'success' ? 'on_success' : 'on_failure'}_callback failed: ${errorMessage(e)}`,
        );
      }
    }
    return true;
  }

  // ------------------------------------------------------------------ 4. zombies

  private async reapZombies(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.zombieThresholdMs);
    const zombies = await this.store.taskInstances
      .find({ state: 'running', lease_expires_at: { $lt: cutoff } })
      .limit(500)
      .toArray();
    const reaped = await mapLimit(zombies, this.concurrency, async (ti) => {
      const task = this.dagBag.getDag(ti.dag_id)?.hasTask(ti.task_id) ? this.dagBag.getDag(ti.dag_id)!.getTask(ti.task_id) : undefined;
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
          // with the reason instead of staying a zombie that every loop trips over.
          reason += `; no retry: its retry delay cannot be computed (${errorMessage(e)})`;
        }
      }
      const after = await this.tis.reapZombie(ti, retryAt, reason).catch((e: unknown) => this.writeFailed(e, ti));
      if (after) {
        this.log.warn({ dag_id: ti.dag_id, run_id: ti.run_id, task_id: ti.task_id, try_number: ti.try_number, state: after.state }, reason);
        this.metrics?.zombieReaped?.({ dagId: ti.dag_id, taskId: ti.task_id, outcome: after.state === 'up_for_retry' ? 'up_for_retry' : 'failed' });
      }
      return after !== null;
    });
    return reaped.filter(Boolean).length;
  }

  // ------------------------------------------------------------------ 5. deferred past deadline

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
      this.log.warn({ dag_id: ti.dag_id, run_id: ti.run_id, task_id: ti.task_id }, reason.message);
      this.metrics?.deferredTimedOut?.({
        dagId: ti.dag_id,
        taskId: ti.task_id,
        reason: reason.kind === 'trigger_timeout' ? 'trigger_timeout' : 'execution_timeout',
      });
    });
  }
}

/** Changes worth an immediate loop: a task finished / needs a retry / was resumed, or a run appeared. */
function wakesScheduler(c: StateChange): boolean {
  if (c.kind === 'dag_run') return c.previous === undefined || c.run.state === 'queued';
  if (c.kind === 'task_instance') {
    const s = c.ti.state;
    return isFinishedState(s) || s === 'up_for_retry' || (s === 'scheduled' && c.previous === 'deferred') || (s === null && c.previous !== null);
  }
  return false;
}
