/**
 * Every task-instance state change, in one place. Each is ONE guarded single-document update
 * (`findOneAndUpdate` whose filter names the expected state and, where a process owns the row, its
 * lease token). A write that loses a race matches nothing and returns null: the caller's view was
 * stale, and it must not act on it. That single rule is what makes several schedulers, workers and
 * triggerers safe at once without transactions (which FerretDB v1 lacks).
 *
 * Who calls what:
 *   scheduler: createForRun, schedule, skip/upstreamFail, queue, retryReady, reapZombie,
 *              failDeferredPastDeadline,
 *              queueFromNone, removeMissingTask
 *   worker:    claim, heartbeat, finish, defer
 *   triggerer: resumeFromTrigger, failFromTrigger
 *   api/cli:   clear, markState
 */
import { randomUUID } from 'node:crypto';
import type { Filter, UpdateFilter } from 'mongodb';
import { AtomicUpdater } from './atomic-updater.ts';
import { isDuplicateKey } from './duplicate-key.ts';
import type { Store } from '../store.ts';
import type { StateChangeBus } from '../state-change-bus.ts';
import { taskInstanceId, type DagRunDoc, type TaskInstanceDoc, type TaskInstanceState } from '../schema.ts';

export interface TaskSpec {
  task_id: string;
  operator: string;
  queue: string;
  priority_weight: number;
  retries: number;
}

export type FinishOutcome =
  | { state: 'success' }
  | { state: 'skipped'; reason?: string }
  | { state: 'failed'; error: string }
  | { state: 'up_for_retry'; error: string; retryAt: Date }
  | { state: 'up_for_reschedule'; rescheduleAt: Date };

export interface DeferArgs {
  triggerId: string;
  nextMethod: string;
  nextKwargs: Record<string, unknown>;
  triggerTimeout: Date | null;
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

const RELEASE_LEASE = { worker_id: null, lease_token: null, lease_expires_at: null } as const;

export class TaskInstanceTransitions {
  /** Atomic guarded writes on every server (per-document locks where updates are not atomic). */
  private readonly atomic: AtomicUpdater<TaskInstanceDoc>;

  constructor(
    private readonly store: Store,
    private readonly bus?: StateChangeBus,
  ) {
    this.atomic = new AtomicUpdater(store.db, store.taskInstances);
  }

  private get col() {
    return this.store.taskInstances;
  }

  /**
   * The one primitive: guarded update, bump version, stamp updated_at, emit the change.
   * Returns the document after the update, or null when the guard did not match.
   */
  async guarded(filter: Filter<TaskInstanceDoc>, update: UpdateFilter<TaskInstanceDoc>, previous?: TaskInstanceState): Promise<TaskInstanceDoc | null> {
    const now = new Date();
    const doc = await this.atomic.findOneAndUpdate(filter, {
      ...update,
      $set: { ...(update.$set ?? {}), updated_at: now },
      $inc: { ...(update.$inc ?? {}), version: 1 },
    } as UpdateFilter<TaskInstanceDoc>);
    if (doc)
      this.bus?.emit({
        kind: 'task_instance',
        at: now,
        previous: previous ?? (typeof filter.state === 'string' || filter.state === null ? (filter.state as TaskInstanceState) : undefined),
        ti: doc,
      });
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

  /** none → scheduled (dependencies met). */
  schedule(tiId: string): Promise<TaskInstanceDoc | null> {
    return this.guarded({ _id: tiId, state: null }, { $set: { state: 'scheduled' } }, null);
  }

  /** none → skipped / upstream_failed (trigger rule decided). */
  settleWithoutRunning(tiId: string, state: 'skipped' | 'upstream_failed' | 'removed'): Promise<TaskInstanceDoc | null> {
    const now = new Date();
    return this.guarded({ _id: tiId, state: { $in: [null, 'scheduled'] } }, { $set: { state, start_date: now, end_date: now, duration: 0 } });
  }

  /** up_for_retry / up_for_reschedule → scheduled once their delay passed. */
  retryReady(tiId: string, from: 'up_for_retry' | 'up_for_reschedule', now = new Date()): Promise<TaskInstanceDoc | null> {
    return this.guarded(
      { _id: tiId, state: from, $or: [{ scheduled_after: null }, { scheduled_after: { $lte: now } }] },
      { $set: { state: 'scheduled', scheduled_after: null } },
      from,
    );
  }

  /**
   * none → queued in one write, for a task whose dependencies are met while its DAG has free
   * max_active_tasks capacity: saves a round trip per task instance on the scheduler's hot path
   * (nobody can act on the intermediate `scheduled` state in between anyway).
   */
  queueFromNone(tiId: string): Promise<TaskInstanceDoc | null> {
    const now = new Date();
    return this.guarded({ _id: tiId, state: null }, { $set: { state: 'queued', queued_dttm: now } }, null);
  }

  /**
   * The task disappeared from the DAG: an instance that is not running (nor deferred, whose
   * trigger the caller deletes) becomes `removed`, as Airflow's verify_integrity does.
   */
  removeMissingTask(tiId: string, from: TaskInstanceState): Promise<TaskInstanceDoc | null> {
    const now = new Date();
    return this.guarded(
      { _id: tiId, state: from },
      { $set: { ...RELEASE_LEASE, state: 'removed', end_date: now, trigger_id: null, next_method: null, next_kwargs: null, trigger_event: null } },
      from,
    );
  }

  /** scheduled → queued (handed to the workers' queue). */
  queue(tiId: string): Promise<TaskInstanceDoc | null> {
    return this.guarded({ _id: tiId, state: 'scheduled' }, { $set: { state: 'queued', queued_dttm: new Date() } }, 'scheduled');
  }

  /**
   * A worker whose lease expired (died, hung, partitioned) left a zombie: running → up_for_retry or
   * failed. Guarded by the lease token the sweeper saw, so a worker that heartbeats in between wins.
   */
  async reapZombie(ti: TaskInstanceDoc, retryAt: Date | null, reason: string): Promise<TaskInstanceDoc | null> {
    const now = new Date();
    const canRetry = retryAt !== null && ti.try_number <= ti.max_tries;
    return this.guarded(
      { _id: ti._id, state: 'running', lease_token: ti.lease_token, lease_expires_at: { $lt: now } },
      {
        $set: {
          ...RELEASE_LEASE,
          state: canRetry ? 'up_for_retry' : 'failed',
          scheduled_after: canRetry ? retryAt : null,
          end_date: now,
          last_error: reason,
          next_method: null,
          next_kwargs: null,
          trigger_event: null,
        },
      },
      'running',
    );
  }

  /**
   * A deferred task past its trigger timeout or execution deadline resumes into `__fail__` so the
   * worker fails it through the normal path (retries and callbacks apply). Returns the trigger id
   * to delete.
   */
  async failDeferredPastDeadline(ti: TaskInstanceDoc, error: string): Promise<TaskInstanceDoc | null> {
    return this.guarded(
      { _id: ti._id, state: 'deferred', trigger_id: ti.trigger_id },
      {
        $set: {
          state: 'scheduled',
          trigger_id: null,
          next_method: '__fail__',
          trigger_event: JSON.stringify({ error }),
          resumed_at: new Date(),
          scheduled_after: null,
        },
      },
      'deferred',
    );
  }

  // ------------------------------------------------------------------ worker

  /**
   * queued → running, owned by this worker under a fresh lease token. A resumed task (next_method
   * set) keeps its try number and start date; a fresh try increments try_number.
   */
  async claim(opts: ClaimOptions): Promise<TaskInstanceDoc | null> {
    const now = new Date();
    const token = randomUUID();
    const base: Filter<TaskInstanceDoc> = { state: 'queued', ...(opts.queues?.length ? { queue: { $in: opts.queues } } : {}) };
    const own = {
      state: 'running' as const,
      worker_id: opts.workerId,
      lease_token: token,
      lease_expires_at: new Date(now.getTime() + opts.leaseMs),
      hostname: opts.hostname,
      pid: opts.pid,
    };
    const sort = { priority_weight: -1, queued_dttm: 1 } as const;
    // Resumes first: they finish work already in flight.
    let doc = await this.atomic.findOneAndUpdate(
      { ...base, next_method: { $ne: null } },
      { $set: { ...own, updated_at: now }, $inc: { version: 1 } },
      { sort },
    );
    if (!doc) {
      doc = await this.atomic.findOneAndUpdate(
        { ...base, next_method: null },
        { $set: { ...own, start_date: now, end_date: null, duration: null, last_error: null, updated_at: now }, $inc: { version: 1, try_number: 1 } },
        { sort },
      );
      if (doc && opts.executionTimeoutMs) {
        const ms = opts.executionTimeoutMs(doc);
        if (ms != null) {
          const deadline = new Date(now.getTime() + ms);
          await this.atomic.updateOne({ _id: doc._id, lease_token: token }, { $set: { execution_deadline: deadline } });
          doc.execution_deadline = deadline;
        } else if (doc.execution_deadline) {
          await this.atomic.updateOne({ _id: doc._id, lease_token: token }, { $set: { execution_deadline: null } });
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
    const now = new Date();
    const set: Partial<TaskInstanceDoc> = {
      ...RELEASE_LEASE,
      state: outcome.state,
      end_date: now,
      duration: ti.start_date ? (now.getTime() - ti.start_date.getTime()) / 1000 : null,
      // A finished try never resumes again; a retry starts fresh.
      next_method: null,
      next_kwargs: null,
      trigger_event: null,
      trigger_id: null,
      scheduled_after: null,
      last_error: null,
      // Counted into deferred_ms by this very update; reset so a later try does not count it again.
      deferred_at: null,
      resumed_at: null,
    };
    if (extra.renderedFields !== undefined) set.rendered_fields = extra.renderedFields;
    if (outcome.state === 'failed' || outcome.state === 'up_for_retry') set.last_error = outcome.error;
    if (outcome.state === 'up_for_retry') set.scheduled_after = outcome.retryAt;
    if (outcome.state === 'up_for_reschedule') set.scheduled_after = outcome.rescheduleAt;
    return this.guarded(
      { _id: ti._id, state: 'running', lease_token: token },
      { $set: set, $inc: { running_ms: Math.max(0, Math.round(extra.heldMs)), deferred_ms: deferredMsOf(ti) } },
      'running',
    );
  }

  /**
   * running(token) → deferred, pointing at an already-inserted trigger. The slot is released by the
   * caller the moment this returns. Null when we lost the row — the caller must delete the trigger.
   */
  defer(ti: TaskInstanceDoc, token: string, args: DeferArgs, extra: { renderedFields?: string | null; heldMs: number }): Promise<TaskInstanceDoc | null> {
    const now = new Date();
    const set: Partial<TaskInstanceDoc> = {
      ...RELEASE_LEASE,
      state: 'deferred',
      trigger_id: args.triggerId,
      next_method: args.nextMethod,
      next_kwargs: JSON.stringify(args.nextKwargs ?? {}),
      trigger_timeout: args.triggerTimeout,
      trigger_event: null,
      deferred_at: now,
      resumed_at: null,
    };
    if (extra.renderedFields !== undefined) set.rendered_fields = extra.renderedFields;
    return this.guarded(
      { _id: ti._id, state: 'running', lease_token: token },
      { $set: set, $inc: { running_ms: Math.max(0, Math.round(extra.heldMs)), deferred_ms: deferredMsOf(ti) } },
      'running',
    );
  }

  // ------------------------------------------------------------------ triggerer

  /**
   * deferred(trigger=T) → scheduled with the event. The filter names the trigger, so a duplicate
   * event, a second triggerer or a stale trigger of a cleared task matches nothing. `tiId` (the
   * trigger row carries it) only narrows the guard, and lets the server find the row by _id
   * instead of scanning (FerretDB pushes down only _id filters).
   */
  resumeFromTrigger(triggerId: string, event: unknown, tiId?: string): Promise<TaskInstanceDoc | null> {
    return this.guarded(
      { ...(tiId ? { _id: tiId } : {}), trigger_id: triggerId, state: 'deferred' },
      { $set: { state: 'scheduled', trigger_id: null, trigger_event: JSON.stringify(event ?? null), resumed_at: new Date(), scheduled_after: null } },
      'deferred',
    );
  }

  /** The trigger failed (threw, unknown kind, timed out): resume into `__fail__` so retries apply. */
  failFromTrigger(triggerId: string, error: string, tiId?: string): Promise<TaskInstanceDoc | null> {
    return this.guarded(
      { ...(tiId ? { _id: tiId } : {}), trigger_id: triggerId, state: 'deferred' },
      {
        $set: {
          state: 'scheduled',
          trigger_id: null,
          next_method: '__fail__',
          trigger_event: JSON.stringify({ error }),
          resumed_at: new Date(),
          scheduled_after: null,
        },
      },
      'deferred',
    );
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
    const after = await this.guarded(
      { _id: tiId, version: before.version },
      {
        $set: {
          ...RELEASE_LEASE,
          state: null,
          max_tries: before.try_number + retries,
          scheduled_after: null,
          queued_dttm: null,
          end_date: null,
          trigger_id: null,
          next_method: null,
          next_kwargs: null,
          trigger_event: null,
          trigger_timeout: null,
          execution_deadline: null,
          last_error: null,
        },
      },
      before.state,
    );
    return after ? before : null;
  }

  /** Mark success / failed / skipped by hand. Returns the previous doc (to delete its trigger). */
  async markState(tiId: string, state: 'success' | 'failed' | 'skipped'): Promise<TaskInstanceDoc | null> {
    const before = await this.col.findOne({ _id: tiId });
    if (!before) return null;
    const now = new Date();
    const after = await this.guarded(
      { _id: tiId, version: before.version },
      { $set: { ...RELEASE_LEASE, state, end_date: now, trigger_id: null, next_method: null, next_kwargs: null, trigger_event: null, scheduled_after: null } },
      before.state,
    );
    return after ? before : null;
  }
}

/** Deferred time accrued by a resumed task, counted once when its worker next writes the row. */
function deferredMsOf(ti: TaskInstanceDoc): number {
  if (ti.deferred_at && ti.resumed_at && ti.resumed_at >= ti.deferred_at) {
    return ti.resumed_at.getTime() - ti.deferred_at.getTime();
  }
  return 0;
}

export { isDuplicateKey };
