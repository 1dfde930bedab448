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
import { applyUpdate } from './apply-update.ts';
import { AtomicUpdater } from './atomic-updater.ts';
import { isDuplicateKey } from './duplicate-key.ts';
import { assertTiEdges, targetState, type TiTransition } from './task-instance-edges.ts';
import { CLAIM_ORDER, TI_PLANS, type ClaimOwner, type DeferArgs, type FinishOutcome, type QueuedBy, type TiPlan } from './task-instance-plans.ts';
import { TriggerTransitions } from './trigger-transitions.ts';
import type { Store } from '../store.ts';
import type { StateChangeBus } from '../state-change-bus.ts';
import { taskInstanceId, type DagRunDoc, type FailReason, type TaskInstanceDoc, type TaskInstanceState } from '../schema.ts';

export type { DeferArgs, FinishOutcome, QueuedBy } from './task-instance-plans.ts';

/**
 * One row of a batched write: the transition it takes, its plan, and the row as the caller last
 * read it. `guardVersion` adds that version to the guard (the caller acts on what it read; a row
 * changed since loses). `won` tells, from the row read back after a partly lost batch, whether
 * this write is the one that landed (default: this writer's change right after `before`).
 */
export interface TiBatchItem {
  transition: TiTransition;
  plan: TiPlan;
  before: TaskInstanceDoc;
  guardVersion?: boolean;
  won?: (after: TaskInstanceDoc) => boolean;
}

export interface TiBatchResult {
  /** Index-aligned with the items: the row after this write, or null when it lost. */
  after: Array<TaskInstanceDoc | null>;
  /** Rows read back because some write lost (their current state), by id; empty when all won. */
  current: Map<string, TaskInstanceDoc>;
}

/** A trigger's decision about its task instance, for resolveTriggers. */
export interface TriggerResolution {
  triggerId: string;
  tiId: string;
  outcome: { type: 'event'; payload: unknown } | { type: 'failure'; reason: FailReason };
}

export interface TriggerResolutionResult {
  /** The row after this write (the task is scheduled again), or null when nothing was written. */
  after: TaskInstanceDoc | null;
  /** The row as last seen (after the write when it won); null when the task instance is gone. */
  current: TaskInstanceDoc | null;
}

export interface TaskInstanceTransitionsOptions {
  /** Stamped as `changed_by` on every row this instance changes (default: a fresh id per instance). */
  writerId?: string;
}

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

/** Per-field defaults of a fresh (none-state) task instance (the benches build their rows on it too). */
export function freshTaskInstanceFields(): Omit<
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

  /** This writer's `changed_by` stamp. */
  readonly writerId: string;

  constructor(
    private readonly store: Store,
    private readonly bus?: StateChangeBus,
    opts: TaskInstanceTransitionsOptions = {},
  ) {
    this.atomic = new AtomicUpdater(store.db, store.taskInstances);
    this.triggers = new TriggerTransitions(store, bus);
    this.writerId = opts.writerId ?? `writer-${randomUUID()}`;
    bus?.registerWriter(this.writerId);
  }

  /** What every transition adds to its plan's update: the change stamp, a version bump, the writer. */
  private stamped(update: UpdateFilter<TaskInstanceDoc>, now: Date): UpdateFilter<TaskInstanceDoc> {
    return {
      ...update,
      $set: { ...(update.$set ?? {}), updated_at: now, changed_by: this.writerId },
      $inc: { ...(update.$inc ?? {}), version: 1 },
    } as UpdateFilter<TaskInstanceDoc>;
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
    const doc = await this.atomic.findOneAndUpdate(plan.filter, this.stamped(plan.update, now), plan.sort ? { sort: plan.sort as Sort } : {});
    if (doc && opts.emit !== false) this.bus?.emit({ kind: 'task_instance', at: now, previous: previous ?? singleState(plan.filter), ti: doc });
    return doc;
  }

  /**
   * Many transitions in one round trip (Airflow's bulk UPDATE): each item is its own guarded
   * single-document update, checked against the edge table like every write. When all of them
   * matched, each row's after-image is computed from the row as read (exact when the guard named
   * its version or its lease); otherwise the rows are read back once and each write is judged by
   * `won`. Winners are emitted on the bus; a losing write did nothing.
   */
  async applyBatch(items: ReadonlyArray<TiBatchItem>, opts: { skipBusy?: boolean } = {}): Promise<TiBatchResult> {
    const current = new Map<string, TaskInstanceDoc>();
    if (items.length === 0) return { after: [], current };
    // The change stamp is this machine's time, whatever clock the plans were decided on; the
    // batch's own id tells its wins from other writes when rows have to be read back.
    const now = new Date();
    const changeId = randomUUID();
    const ops = items.map((it) => {
      assertTiEdges(it.transition, it.plan.filter, it.plan.update);
      const id = (it.plan.filter as { _id?: unknown })._id;
      if (typeof id !== 'string' || id !== it.before._id) throw new Error(`Batched transition '${it.transition}' must name its row's _id in its guard`);
      const filter = (it.guardVersion ? { ...it.plan.filter, version: it.before.version } : it.plan.filter) as Filter<TaskInstanceDoc> & { _id: string };
      const update = this.stamped(it.plan.update, now);
      return { filter, update: { ...update, $set: { ...update.$set, change_id: changeId } } as UpdateFilter<TaskInstanceDoc> };
    });
    const matched = await this.atomic.bulkUpdate(ops, opts);
    let after: Array<TaskInstanceDoc | null> = items.map((it, i) => (matched === items.length ? applyUpdate(it.before, ops[i]!.update) : null));
    if (after.some((a) => a === null)) {
      const ids = [...new Set(items.map((it) => it.before._id))];
      for (const d of await this.col.find({ _id: { $in: ids } }).toArray()) current.set(d._id, d);
      after = items.map((it, i) => {
        const row = current.get(it.before._id);
        if (!row) return null;
        if (matched === items.length) return row;
        const won = it.won ?? ((r: TaskInstanceDoc) => r.change_id === changeId && r.version === it.before.version + 1);
        return won(row) && row.state === targetState(ops[i]!.update) ? row : null;
      });
    }
    for (const [i, it] of items.entries()) {
      const a = after[i];
      if (a) this.bus?.emit({ kind: 'task_instance', at: now, previous: it.before.state, ti: a });
    }
    return { after, current };
  }

  // ------------------------------------------------------------------ scheduler

  /** Create the none-state rows of a run; idempotent (duplicates from a racing scheduler are ignored). */
  async createForRun(run: DagRunDoc, tasks: TaskSpec[]): Promise<number> {
    return (await this.createRowsForRun(run, tasks)).inserted.length;
  }

  /**
   * createForRun, answering the rows inserted (as stored) and whether every row was — false when
   * some existed already (a racing scheduler made them; read them to know them).
   */
  async createRowsForRun(run: DagRunDoc, tasks: TaskSpec[]): Promise<{ inserted: TaskInstanceDoc[]; complete: boolean }> {
    if (tasks.length === 0) return { inserted: [], complete: true };
    const docs: TaskInstanceDoc[] = tasks.map((t) => ({
      ...freshTaskInstanceFields(),
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
      changed_by: this.writerId,
    }));
    try {
      // Copies: insertMany adds _id to what it is given, and the caller keeps `docs`.
      await this.col.insertMany(
        docs.map((d) => ({ ...d })),
        { ordered: false },
      );
      return { inserted: docs, complete: true };
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
      const errors = (e as { writeErrors?: Array<{ index: number }> | { index: number } }).writeErrors;
      const failed = new Set((Array.isArray(errors) ? errors : errors ? [errors] : []).map((w) => w.index));
      return { inserted: docs.filter((_, i) => !failed.has(i)), complete: false };
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
  queueFromNone(tiId: string, by?: QueuedBy): Promise<TaskInstanceDoc | null> {
    return this.apply('queueFromNone', TI_PLANS.queueFromNone(tiId, new Date(), by));
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
  queue(tiId: string, by?: QueuedBy): Promise<TaskInstanceDoc | null> {
    return this.apply('queue', TI_PLANS.queue(tiId, new Date(), by));
  }

  // ------------------------------------------------------------------ scheduler, batched (one round trip each)

  /**
   * Queue rows the scheduler decided are ready, each from the state it read (none or scheduled)
   * and at the version it read, tagged with the scheduler's id and whether it resumes a deferral.
   */
  queueMany(tis: ReadonlyArray<TaskInstanceDoc>, by: Omit<QueuedBy, 'resume'>, now = new Date()): Promise<TiBatchResult> {
    return this.applyBatch(
      tis.map((ti) => {
        const queuedBy = { ...by, resume: ti.next_method !== null };
        return ti.state === null
          ? { transition: 'queueFromNone' as const, plan: TI_PLANS.queueFromNone(ti._id, now, queuedBy), before: ti, guardVersion: true }
          : { transition: 'queue' as const, plan: TI_PLANS.queue(ti._id, now, queuedBy), before: ti, guardVersion: true };
      }),
    );
  }

  /** none → scheduled for ready rows over their DAG's capacity. */
  scheduleMany(tis: ReadonlyArray<TaskInstanceDoc>): Promise<TiBatchResult> {
    return this.applyBatch(tis.map((ti) => ({ transition: 'schedule' as const, plan: TI_PLANS.schedule(ti._id), before: ti, guardVersion: true })));
  }

  /** none / scheduled → skipped / upstream_failed, as their trigger rules decided. */
  settleMany(items: ReadonlyArray<{ ti: TaskInstanceDoc; state: 'skipped' | 'upstream_failed' }>, now = new Date()): Promise<TiBatchResult> {
    return this.applyBatch(
      items.map(({ ti, state }) => ({
        transition: 'settleWithoutRunning' as const,
        plan: TI_PLANS.settleWithoutRunning(ti._id, state, now),
        before: ti,
        guardVersion: true,
      })),
    );
  }

  /** up_for_retry / up_for_reschedule → scheduled, for rows whose delay passed. */
  retryReadyMany(tis: ReadonlyArray<TaskInstanceDoc>, now = new Date()): Promise<TiBatchResult> {
    return this.applyBatch(
      tis.map((ti) => ({
        transition: 'retryReady' as const,
        plan: TI_PLANS.retryReady(ti._id, ti.state === 'up_for_reschedule' ? 'up_for_reschedule' : 'up_for_retry', now),
        before: ti,
        guardVersion: true,
      })),
    );
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

  /**
   * Claim up to `limit` queued rows in two round trips: read the candidates in claim order (resumes
   * first, then priority, oldest first), then one batched write taking each at the version read,
   * under its own lease token. Returns the rows won (others went to another worker).
   */
  async claimMany(opts: ClaimOptions & { limit: number }): Promise<TaskInstanceDoc[]> {
    if (opts.limit <= 0) return [];
    const filter: Filter<TaskInstanceDoc> = { state: 'queued', ...(opts.queues?.length ? { queue: { $in: opts.queues } } : {}) };
    const candidates = await this.col.find(filter).sort(CLAIM_ORDER).limit(opts.limit).toArray();
    if (candidates.length === 0) return [];
    const now = new Date();
    const items = candidates.map((c): TiBatchItem => {
      const owner: ClaimOwner = {
        workerId: opts.workerId,
        hostname: opts.hostname,
        pid: opts.pid,
        leaseToken: randomUUID(),
        leaseExpiresAt: new Date(now.getTime() + opts.leaseMs),
      };
      return {
        transition: 'claim',
        plan: TI_PLANS.claimRow(c, owner, now, opts.executionTimeoutMs?.(c) ?? null),
        before: c,
        guardVersion: true,
        won: (row) => row.state === 'running' && row.lease_token === owner.leaseToken,
      };
    });
    const { after } = await this.applyBatch(items, { skipBusy: true });
    return after.filter((a): a is TaskInstanceDoc => a !== null);
  }

  /**
   * Extend the leases of many running tries in one round trip; returns the ids whose row is no
   * longer theirs (cleared, marked, reaped). Not a transition: the version stays.
   */
  async heartbeatMany(leases: ReadonlyArray<{ tiId: string; token: string }>, leaseMs: number): Promise<Set<string>> {
    const lost = new Set<string>();
    if (leases.length === 0) return lost;
    const expires = new Date(Date.now() + leaseMs);
    const matched = await this.atomic.bulkUpdate(
      leases.map((l) => ({ filter: { _id: l.tiId, state: 'running' as const, lease_token: l.token }, update: { $set: { lease_expires_at: expires } } })),
    );
    if (matched === leases.length) return lost;
    const rows = await this.col.find({ _id: { $in: leases.map((l) => l.tiId) } }, { projection: { _id: 1, state: 1, lease_token: 1 } }).toArray();
    const byId = new Map(rows.map((r) => [r._id, r]));
    for (const l of leases) {
      const r = byId.get(l.tiId);
      if (r?.state !== 'running' || r.lease_token !== l.token) lost.add(l.tiId);
    }
    return lost;
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

  /** A finish as one row of a batched write (the worker coalesces its slots' outcomes). */
  static finishItem(
    ti: TaskInstanceDoc,
    token: string,
    outcome: FinishOutcome,
    extra: { renderedFields?: string | null; heldMs: number },
    now: Date,
  ): TiBatchItem {
    return { transition: 'finish', plan: TI_PLANS.finish(ti, token, outcome, extra, now), before: ti };
  }

  /** A deferral as one row of a batched write. */
  static deferItem(ti: TaskInstanceDoc, token: string, args: DeferArgs, extra: { renderedFields?: string | null; heldMs: number }, now: Date): TiBatchItem {
    return { transition: 'defer', plan: TI_PLANS.defer(ti, token, args, extra, now), before: ti };
  }

  /** Outcomes of several tries (finishes and deferrals) in one round trip; index-aligned after-rows, null where lost. */
  async settleTries(items: ReadonlyArray<TiBatchItem>): Promise<Array<TaskInstanceDoc | null>> {
    for (const it of items) {
      if (it.transition !== 'finish' && it.transition !== 'defer') throw new Error(`settleTries takes finishes and deferrals, not '${it.transition}'`);
    }
    return (await this.applyBatch(items)).after;
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
   * Many triggers' outcomes at once (a triggerer under an event stream): resumeFromTrigger /
   * failFromTrigger for each, in two round trips whatever their number — one read of the task
   * rows, then one batched write (applyBatch) of the guarded updates for the rows deferred on
   * their trigger, each also guarded on the version just read (one outcome alone is one
   * findOneAndUpdate, as resumeFromTrigger). A write that loses changes nothing and answers
   * `after: null`; only winners are emitted on the bus. Each answer carries the row as last seen
   * (`current`), so the caller can tell "not deferred yet" from "stale" without reading it again. Several items for one task instance (a duplicate event) send one
   * write: the first; the others answer `after: null` with the first's outcome as `current`.
   */
  async resolveTriggers(items: ReadonlyArray<TriggerResolution>): Promise<TriggerResolutionResult[]> {
    if (items.length === 0) return [];
    if (items.length === 1) {
      // Alone (no stream): one findOneAndUpdate answers the row after, in one round trip.
      const it = items[0]!;
      const after =
        it.outcome.type === 'event'
          ? await this.resumeFromTrigger(it.triggerId, it.outcome.payload, it.tiId)
          : await this.failFromTrigger(it.triggerId, it.outcome.reason, it.tiId);
      return [{ after, current: after ?? (await this.col.findOne({ _id: it.tiId })) }];
    }
    const ids = [...new Set(items.map((it) => it.tiId))];
    const rows = new Map<string, TaskInstanceDoc>();
    for (const d of await this.col.find({ _id: { $in: ids } }).toArray()) rows.set(d._id, d);
    const now = new Date();
    const batch: TiBatchItem[] = [];
    const slotOf = new Map<string, number>();
    const sent: Array<number | null> = items.map((it) => {
      const row = rows.get(it.tiId);
      if (row?.state !== 'deferred' || row.trigger_id !== it.triggerId || slotOf.has(it.tiId)) return null;
      const plan =
        it.outcome.type === 'event'
          ? TI_PLANS.resumeFromTrigger(it.triggerId, it.outcome.payload, it.tiId, now)
          : TI_PLANS.failFromTrigger(it.triggerId, it.outcome.reason, it.tiId, now);
      slotOf.set(it.tiId, batch.length);
      batch.push({ transition: it.outcome.type === 'event' ? 'resumeFromTrigger' : 'failFromTrigger', plan, before: row, guardVersion: true });
      return batch.length - 1;
    });
    const { after, current } = await this.applyBatch(batch);
    return items.map((it, i) => {
      const slot = sent[i];
      if (slot !== null && slot !== undefined) return { after: after[slot] ?? null, current: after[slot] ?? current.get(it.tiId) ?? rows.get(it.tiId) ?? null };
      const first = slotOf.get(it.tiId);
      const seen = (first !== undefined ? after[first] : null) ?? current.get(it.tiId) ?? rows.get(it.tiId) ?? null;
      return { after: null, current: seen };
    });
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
