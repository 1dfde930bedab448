/**
 * Every task-instance state change, in one place. Each is ONE guarded single-document update
 * (`findOneAndUpdate` whose filter names the expected state and, where a process owns the row, its
 * lease token). A write that loses a race matches nothing and returns null: the caller's view was
 * stale, and it must not act on it. That single rule is what makes several schedulers, workers and
 * triggerers safe at once without transactions (which FerretDB v1 lacks).
 *
 * What each transition writes is built in task-instance-plans.ts; which edges (from → to) each may
 * take, and who calls it, is the table in task-instance-edges.ts — every write is checked against
 * it before it is sent.
 *
 * Compound steps ("…AndDropTrigger"): a transition that ends a deferral and the deletion of the
 * trigger row the task waited on, so no call site can forget the second half.
 */
import { randomUUID } from 'node:crypto';
import type { Filter, Sort, UpdateFilter } from 'mongodb';
import { AtomicUpdater } from './atomic-updater.ts';
import { isDuplicateKey } from './duplicate-key.ts';
import { assertTiEdges, type TiTransition } from './task-instance-edges.ts';
import { TI_PLANS, type DeferArgs, type FinishOutcome, type TiPlan } from './task-instance-plans.ts';
import { TriggerTransitions } from './trigger-transitions.ts';
import type { Store } from '../store.ts';
import type { StateChangeBus } from '../state-change-bus.ts';
import { taskInstanceId, type DagRunDoc, type FailReason, type TaskInstanceDoc, type TaskInstanceState } from '../schema.ts';

export type { DeferArgs, FinishOutcome } from './task-instance-plans.ts';

export interface TaskSpec {
  task_id: string;
  operator: string;
  queue: string;
  priority_weight: number;
  retries: number;
}

export interface ClaimOptions {
  workerId: string;
  hostname: string;
  pid: number;
  leaseMs: number;
  queues?: string[];
  /** execution_timeout per task, known only to the worker that loaded the DAG; ms or null. */
  executionTimeoutMs?: (ti: TaskInstanceDoc) => number | null;
}

/** Per-field defaults of a fresh (none-state) task instance. */
function freshFields(): Omit<
  TaskInstanceDoc,
  '_id' | 'dag_id' | 'run_id' | 'task_id' | 'logical_date' | 'operator' | 'queue' | 'priority_weight' | 'max_tries' | 'map_index'
> {
  return {
    state: null,
    try_number: 0,
    scheduled_after: null,
    queued_dttm: null,
    start_date: null,
    end_date: null,
    duration: null,
    worker_id: null,
    lease_token: null,
    lease_expires_at: null,
    hostname: null,
    pid: null,
    trigger_id: null,
    next_method: null,
    next_kwargs: null,
    trigger_timeout: null,
    trigger_event: null,
    fail_reason: null,
    deferred_at: null,
    resumed_at: null,
    execution_deadline: null,
    running_ms: 0,
    deferred_ms: 0,
    rendered_fields: null,
    last_error: null,
    version: 0,
    updated_at: new Date(),
  };
}

/** A reason given as text only (tests, older callers) is a trigger failure. */
function asFailReason(reason: FailReason | string): FailReason {
  return typeof reason === 'string' ? { kind: 'trigger_failure', message: reason } : reason;
}

export class TaskInstanceTransitions {
  /** Atomic guarded writes on every server (per-document locks where updates are not atomic). */
  private readonly atomic: AtomicUpdater<TaskInstanceDoc>;
  /** For the compound steps: the trigger a finished deferral waited on is deleted with it. */
  private readonly triggers: TriggerTransitions;

  constructor(
    private readonly store: Store,
    private readonly bus?: StateChangeBus,
  ) {
    this.atomic = new AtomicUpdater(store.db, store.taskInstances);
    this.triggers = new TriggerTransitions(store, bus);
  }

  private get col() {
    return this.store.taskInstances;
  }

  /**
   * The one primitive: check the plan against the edge table, guarded update, bump version, stamp
   * updated_at, emit the change. Returns the document after the update, or null when the guard did
   * not match.
   */
  private async apply(
    transition: TiTransition,
    plan: TiPlan,
    previous?: TaskInstanceState,
    now = new Date(),
    opts: { emit?: boolean } = {},
  ): Promise<TaskInstanceDoc | null> {
    assertTiEdges(transition, plan.filter, plan.update);
    const doc = await this.atomic.findOneAndUpdate(
      plan.filter,
      {
        ...plan.update,
        $set: { ...(plan.update.$set ?? {}), updated_at: now },
        $inc: { ...(plan.update.$inc ?? {}), version: 1 },
      } as UpdateFilter<TaskInstanceDoc>,
      plan.sort ? { sort: plan.sort as Sort } : {},
    );
    if (doc && opts.emit !== false) this.bus?.emit({ kind: 'task_instance', at: now, previous: previous ?? singleState(plan.filter), ti: doc });
    return doc;
  }

  // ------------------------------------------------------------------ scheduler

  /** Create the none-state rows of a run; idempotent (duplicates from a racing scheduler are ignored). */
  async createForRun(run: DagRunDoc, tasks: TaskSpec[]): Promise<number> {
    if (tasks.length === 0) return 0;
    const docs: TaskInstanceDoc[] = tasks.map((t) => ({
      ...freshFields(),
      _id: taskInstanceId(run.dag_id, run.run_id, t.task_id),
      dag_id: run.dag_id,
      run_id: run.run_id,
      task_id: t.task_id,
      map_index: -1,
      logical_date: run.logical_date,
      operator: t.operator,
      queue: t.queue,
      priority_weight: t.priority_weight,
      max_tries: t.retries,
    }));
    try {
      const r = await this.col.insertMany(docs, { ordered: false });
      return r.insertedCount;
    } catch (e) {
      if (isDuplicateKey(e)) return (e as { result?: { insertedCount?: number } }).result?.insertedCount ?? 0;
      throw e;
    }
  }

  /** Delete every task instance of a run (the run is being deleted: not a state change, rows go away). */
  async deleteForRun(dagId: string, runId: string): Promise<number> {
    const r = await this.col.deleteMany({ dag_id: dagId, run_id: runId });
    return r.deletedCount;
  }

  /** none → scheduled (dependencies met). */
  schedule(tiId: string): Promise<TaskInstanceDoc | null> {
    return this.apply('schedule', TI_PLANS.schedule(tiId));
  }

  /** none → skipped / upstream_failed (trigger rule decided). */
  settleWithoutRunning(tiId: string, state: 'skipped' | 'upstream_failed' | 'removed'): Promise<TaskInstanceDoc | null> {
    return this.apply('settleWithoutRunning', TI_PLANS.settleWithoutRunning(tiId, state, new Date()));
  }

  /** up_for_retry / up_for_reschedule → scheduled once their delay passed. */
  retryReady(tiId: string, from: 'up_for_retry' | 'up_for_reschedule', now = new Date()): Promise<TaskInstanceDoc | null> {
    return this.apply('retryReady', TI_PLANS.retryReady(tiId, from, now));
  }

  /**
   * none → queued in one write, for a task whose dependencies are met while its DAG has free
   * max_active_tasks capacity: saves a round trip per task instance on the scheduler's hot path
   * (nobody can act on the intermediate `scheduled` state in between anyway).
   */
  queueFromNone(tiId: string): Promise<TaskInstanceDoc | null> {
    return this.apply('queueFromNone', TI_PLANS.queueFromNone(tiId, new Date()));
  }

  /**
   * The task disappeared from the DAG: an instance that is not running (nor deferred, whose
   * trigger the caller deletes) becomes `removed`, as Airflow's verify_integrity does.
   */
  removeMissingTask(tiId: string, from: TaskInstanceState): Promise<TaskInstanceDoc | null> {
    return this.apply('removeMissingTask', TI_PLANS.removeMissingTask(tiId, from, new Date()), from);
  }

  /** removeMissingTask, then delete the trigger the instance waited on (when it was deferred). */
  async removeMissingTaskAndDropTrigger(ti: Pick<TaskInstanceDoc, '_id' | 'state' | 'trigger_id'>): Promise<TaskInstanceDoc | null> {
    const after = await this.removeMissingTask(ti._id, ti.state);
    if (after && ti.trigger_id) await this.triggers.delete(ti.trigger_id);
    return after;
  }

  /** scheduled → queued (handed to the workers' queue). */
  queue(tiId: string): Promise<TaskInstanceDoc | null> {
    return this.apply('queue', TI_PLANS.queue(tiId, new Date()));
  }

  /**
   * A worker whose lease expired (died, hung, partitioned) left a zombie: running → up_for_retry or
   * failed. Guarded by the lease token the sweeper saw, so a worker that heartbeats in between wins.
   */
  async reapZombie(ti: TaskInstanceDoc, retryAt: Date | null, reason: string): Promise<TaskInstanceDoc | null> {
    return this.apply('reapZombie', TI_PLANS.reapZombie(ti, retryAt, reason, new Date()));
  }

  /**
   * A deferred task past its trigger timeout or execution deadline resumes into `__fail__` so the
   * worker fails it through the normal path (retries and callbacks apply).
   */
  async failDeferredPastDeadline(ti: Pick<TaskInstanceDoc, '_id' | 'trigger_id'>, reason: FailReason): Promise<TaskInstanceDoc | null> {
    return this.apply('failDeferredPastDeadline', TI_PLANS.failDeferredPastDeadline(ti, reason, new Date()));
  }

  /** failDeferredPastDeadline, then delete its trigger (a failed delete is left to the triggerer's orphan sweep). */
  async failPastDeadlineAndDropTrigger(ti: Pick<TaskInstanceDoc, '_id' | 'trigger_id'>, reason: FailReason): Promise<TaskInstanceDoc | null> {
    const after = await this.failDeferredPastDeadline(ti, reason);
    if (after && ti.trigger_id) await this.triggers.delete(ti.trigger_id).catch(() => false);
    return after;
  }

  // ------------------------------------------------------------------ worker

  /**
   * queued → running, owned by this worker under a fresh lease token. A resumed task (next_method
   * set) keeps its try number and start date; a fresh try increments try_number.
   */
  async claim(opts: ClaimOptions): Promise<TaskInstanceDoc | null> {
    const now = new Date();
    const owner = {
      workerId: opts.workerId,
      hostname: opts.hostname,
      pid: opts.pid,
      leaseToken: randomUUID(),
      leaseExpiresAt: new Date(now.getTime() + opts.leaseMs),
      queues: opts.queues,
    };
    // Resumes first: they finish work already in flight.
    // Emitted below, once the row is complete (execution_deadline).
    const quiet = { emit: false };
    let doc = await this.apply('claim', TI_PLANS.claim('resume', owner, now), 'queued', now, quiet);
    if (!doc) {
      doc = await this.apply('claim', TI_PLANS.claim('fresh', owner, now), 'queued', now, quiet);
      if (doc && opts.executionTimeoutMs) {
        const ms = opts.executionTimeoutMs(doc);
        if (ms != null) {
          const deadline = new Date(now.getTime() + ms);
          await this.atomic.updateOne({ _id: doc._id, lease_token: owner.leaseToken }, { $set: { execution_deadline: deadline } });
          doc.execution_deadline = deadline;
        } else if (doc.execution_deadline) {
          await this.atomic.updateOne({ _id: doc._id, lease_token: owner.leaseToken }, { $set: { execution_deadline: null } });
          doc.execution_deadline = null;
        }
      }
    }
    if (doc) this.bus?.emit({ kind: 'task_instance', at: now, previous: 'queued', ti: doc });
    return doc;
  }

  /** Extend the lease; false means the row is no longer ours (cleared, marked, reaped): stop the task. */
  async heartbeat(tiId: string, token: string, leaseMs: number): Promise<boolean> {
    return this.atomic.updateOne({ _id: tiId, state: 'running', lease_token: token }, { $set: { lease_expires_at: new Date(Date.now() + leaseMs) } });
  }

  /** running(token) → a final or retry state. Null when we no longer own the row (no overwrite). */
  finish(
    ti: TaskInstanceDoc,
    token: string,
    outcome: FinishOutcome,
    extra: { renderedFields?: string | null; heldMs: number },
  ): Promise<TaskInstanceDoc | null> {
    return this.apply('finish', TI_PLANS.finish(ti, token, outcome, extra, new Date()));
  }

  /**
   * running(token) → deferred, pointing at an already-inserted trigger. The slot is released by the
   * caller the moment this returns. Null when we lost the row — the caller must delete the trigger.
   */
  defer(ti: TaskInstanceDoc, token: string, args: DeferArgs, extra: { renderedFields?: string | null; heldMs: number }): Promise<TaskInstanceDoc | null> {
    return this.apply('defer', TI_PLANS.defer(ti, token, args, extra, new Date()));
  }

  // ------------------------------------------------------------------ triggerer

  /**
   * deferred(trigger=T) → scheduled with the event. The filter names the trigger, so a duplicate
   * event, a second triggerer or a stale trigger of a cleared task matches nothing. `tiId` (the
   * trigger row carries it) only narrows the guard, and lets the server find the row by _id
   * instead of scanning (FerretDB pushes down only _id filters).
   */
  resumeFromTrigger(triggerId: string, event: unknown, tiId?: string): Promise<TaskInstanceDoc | null> {
    return this.apply('resumeFromTrigger', TI_PLANS.resumeFromTrigger(triggerId, event, tiId, new Date()));
  }

  /** The trigger failed (threw, unknown kind, timed out): resume into `__fail__` so retries apply. A bare message is a trigger failure. */
  failFromTrigger(triggerId: string, reason: FailReason | string, tiId?: string): Promise<TaskInstanceDoc | null> {
    return this.apply('failFromTrigger', TI_PLANS.failFromTrigger(triggerId, asFailReason(reason), tiId, new Date()));
  }

  /**
   * A trigger decided (an event, or a failure / timeout): resume its task (or fail it into
   * `__fail__`), then delete the trigger as fired. Null when the task was not deferred on it; the
   * trigger is then left for the caller to judge (it may be mid-deferral).
   */
  async resolveTriggerAndDropIt(
    trigger: { triggerId: string; tiId?: string },
    outcome: { type: 'event'; payload: unknown } | { type: 'failure'; reason: FailReason },
  ): Promise<TaskInstanceDoc | null> {
    const ti =
      outcome.type === 'event'
        ? await this.resumeFromTrigger(trigger.triggerId, outcome.payload, trigger.tiId)
        : await this.failFromTrigger(trigger.triggerId, outcome.reason, trigger.tiId);
    if (ti) await this.triggers.delete(trigger.triggerId, 'fired');
    return ti;
  }

  // ------------------------------------------------------------------ api / cli

  /**
   * Any state → none, ready to run again (Airflow's clear). Grants the task its retries again
   * (max_tries = try_number + retries). Drops lease and deferral: a worker or trigger still holding
   * the old ones can no longer write. Returns the previous doc (to delete its trigger).
   */
  async clear(tiId: string, retries: number): Promise<TaskInstanceDoc | null> {
    const before = await this.col.findOne({ _id: tiId });
    if (!before) return null;
    const after = await this.apply('clear', TI_PLANS.clear(before, retries), before.state);
    return after ? before : null;
  }

  /** clear, then delete the trigger the task waited on. Returns the previous doc. */
  async clearAndDropTrigger(tiId: string, retries: number): Promise<TaskInstanceDoc | null> {
    const before = await this.clear(tiId, retries);
    if (before?.trigger_id) await this.triggers.delete(before.trigger_id);
    return before;
  }

  /** Mark success / failed / skipped by hand. Returns the previous doc (to delete its trigger). */
  async markState(tiId: string, state: 'success' | 'failed' | 'skipped'): Promise<TaskInstanceDoc | null> {
    const before = await this.col.findOne({ _id: tiId });
    if (!before) return null;
    const after = await this.apply('markState', TI_PLANS.markState(before, state, new Date()), before.state);
    return after ? before : null;
  }

  /** markState, then delete the trigger the task waited on. Returns the previous doc. */
  async markStateAndDropTrigger(tiId: string, state: 'success' | 'failed' | 'skipped'): Promise<TaskInstanceDoc | null> {
    const before = await this.markState(tiId, state);
    if (before?.trigger_id) await this.triggers.delete(before.trigger_id);
    return before;
  }
}

/** The one state a guard names, for the bus's `previous`; undefined when it admits several. */
function singleState(filter: Filter<TaskInstanceDoc>): TaskInstanceState | undefined {
  const s = (filter as { state?: unknown }).state;
  return typeof s === 'string' || s === null ? (s as TaskInstanceState) : undefined;
}

export { isDuplicateKey };
export { deferredMsOf } from './task-instance-plans.ts';
