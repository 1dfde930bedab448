/**
 * What each task-instance transition writes, as data: the guard (filter) and the update, built by
 * pure functions so the edge table can be checked against them without a database
 * (task-instance-edges.ts). TaskInstanceTransitions sends them; nothing else builds a state write.
 *
 * Every plan's guard names the state(s) it starts from, and its update sets the state it moves to.
 */
import type { Filter, Sort, UpdateFilter } from 'mongodb';
import type { FailReason, TaskInstanceDoc, TaskInstanceState } from '../schema.ts';
import { cleanTry, endedTry, resumedWindow, tryInFlight } from '../task-instance-history.ts';
import type { TiTransition } from './task-instance-edges.ts';

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
  /** What the trigger waits on, recorded in the try's history (the trigger row is deleted when it fires). */
  trigger?: { kind: string; description: string | null };
}

/** What a worker writes into a row it claims. */
export interface ClaimOwner {
  workerId: string;
  hostname: string;
  pid: number;
  leaseToken: string;
  leaseExpiresAt: Date;
  queues?: string[];
}

/** What the scheduler records on a row it queues. */
export interface QueuedBy {
  schedulerId: string;
  /** The row resumes a deferral: workers claim it before fresh tries. */
  resume: boolean;
}

export interface TiPlan {
  filter: Filter<TaskInstanceDoc>;
  update: UpdateFilter<TaskInstanceDoc>;
  /** Claims pick the best candidate. */
  sort?: Sort;
}

export const FAIL_METHOD = '__fail__';

const RELEASE_LEASE = { worker_id: null, lease_token: null, lease_expires_at: null } as const;
/** A deferral that ended: nothing to resume any more. */
const NO_DEFERRAL = { trigger_id: null, next_method: null, next_kwargs: null, trigger_event: null, fail_reason: null } as const;

/** Deferred time accrued by a resumed task, counted once when its worker next writes the row. */
export function deferredMsOf(ti: Pick<TaskInstanceDoc, 'deferred_at' | 'resumed_at'>): number {
  if (ti.deferred_at && ti.resumed_at && ti.resumed_at >= ti.deferred_at) {
    return ti.resumed_at.getTime() - ti.deferred_at.getTime();
  }
  return 0;
}

/**
 * History (task-instance-history.ts): a transition that ends a try in flight pushes its record and
 * starts the next try clean; its resumed deferral is counted into deferred_ms once, here.
 */
function recordTryEnd(ti: TaskInstanceDoc, state: TaskInstanceState, now: Date, endedBy: 'zombie_reaper' | 'clear' | 'mark', lastError?: string | null) {
  if (!tryInFlight(ti)) return { set: {}, push: undefined, deferredMs: 0 };
  return {
    set: { ...cleanTry(), deferred_at: null, resumed_at: null },
    push: { tries: endedTry(ti, state, now, endedBy, lastError === undefined ? ti.last_error : lastError) },
    deferredMs: deferredMsOf(ti),
  };
}

/** deferred(trigger) → scheduled into `__fail__`, the reason typed; the event keeps the message for readers of the row. */
function resumeIntoFail(guard: Filter<TaskInstanceDoc>, reason: FailReason, now: Date): TiPlan {
  return {
    filter: { ...guard, state: 'deferred' },
    update: {
      $set: {
        state: 'scheduled',
        trigger_id: null,
        next_method: FAIL_METHOD,
        trigger_event: JSON.stringify({ error: reason.message }),
        fail_reason: { kind: reason.kind, message: reason.message },
        resumed_at: now,
        scheduled_after: null,
      },
    },
  };
}

/** The order workers claim queued rows in: resumes first, then by priority, oldest first. */
export const CLAIM_ORDER = { is_resume: -1, priority_weight: -1, queued_dttm: 1 } as const;

function queuedByFields(by: QueuedBy | undefined): Partial<TaskInstanceDoc> {
  return by ? { queued_by_job_id: by.schedulerId, is_resume: by.resume } : {};
}

/** One builder per transition; the key is the transition's row in TI_EDGE_TABLE (claimRow is claim's per-row form). */
export const TI_PLANS = {
  schedule: (tiId: string): TiPlan => ({ filter: { _id: tiId, state: null }, update: { $set: { state: 'scheduled' } } }),

  queueFromNone: (tiId: string, now: Date, by?: QueuedBy): TiPlan => ({
    filter: { _id: tiId, state: null },
    update: { $set: { state: 'queued', queued_dttm: now, ...queuedByFields(by) } },
  }),

  queue: (tiId: string, now: Date, by?: QueuedBy): TiPlan => ({
    filter: { _id: tiId, state: 'scheduled' },
    update: { $set: { state: 'queued', queued_dttm: now, ...queuedByFields(by) } },
  }),

  settleWithoutRunning: (tiId: string, state: 'skipped' | 'upstream_failed' | 'removed', now: Date): TiPlan => ({
    filter: { _id: tiId, state: { $in: [null, 'scheduled'] } },
    update: { $set: { state, start_date: now, end_date: now, duration: 0 } },
  }),

  retryReady: (tiId: string, from: 'up_for_retry' | 'up_for_reschedule', now: Date): TiPlan => ({
    filter: { _id: tiId, state: from, $or: [{ scheduled_after: null }, { scheduled_after: { $lte: now } }] },
    update: { $set: { state: 'scheduled', scheduled_after: null } },
  }),

  removeMissingTask: (tiId: string, from: TaskInstanceState, now: Date): TiPlan => ({
    filter: { _id: tiId, state: from },
    update: { $set: { ...RELEASE_LEASE, ...NO_DEFERRAL, state: 'removed', end_date: now } },
  }),

  reapZombie: (ti: TaskInstanceDoc, retryAt: Date | null, reason: string, now: Date): TiPlan => {
    const canRetry = retryAt !== null && ti.try_number <= ti.max_tries;
    const history = recordTryEnd(ti, canRetry ? 'up_for_retry' : 'failed', now, 'zombie_reaper', reason);
    return {
      filter: { _id: ti._id, state: 'running', lease_token: ti.lease_token, lease_expires_at: { $lt: now } },
      update: {
        ...(history.push ? { $push: history.push, $inc: { deferred_ms: history.deferredMs } } : {}),
        $set: {
          ...history.set,
          ...RELEASE_LEASE,
          state: canRetry ? 'up_for_retry' : 'failed',
          scheduled_after: canRetry ? retryAt : null,
          end_date: now,
          last_error: reason,
          next_method: null,
          next_kwargs: null,
          trigger_event: null,
          fail_reason: null,
        },
      },
    };
  },

  failDeferredPastDeadline: (ti: Pick<TaskInstanceDoc, '_id' | 'trigger_id'>, reason: FailReason, now: Date): TiPlan =>
    resumeIntoFail({ _id: ti._id, trigger_id: ti.trigger_id }, reason, now),

  /** `resume`: a resumed task keeps its try number and start date; `fresh`: a new try. */
  claim: (kind: 'resume' | 'fresh', owner: ClaimOwner, now: Date): TiPlan => {
    const base: Filter<TaskInstanceDoc> = { state: 'queued', ...(owner.queues?.length ? { queue: { $in: owner.queues } } : {}) };
    const own = {
      state: 'running' as const,
      worker_id: owner.workerId,
      lease_token: owner.leaseToken,
      lease_expires_at: owner.leaseExpiresAt,
      hostname: owner.hostname,
      pid: owner.pid,
    };
    const sort = CLAIM_ORDER;
    if (kind === 'resume') return { filter: { ...base, next_method: { $ne: null } }, update: { $set: own }, sort };
    return {
      filter: { ...base, next_method: null },
      update: { $set: { ...own, start_date: now, end_date: null, duration: null, last_error: null }, $inc: { try_number: 1 } },
      sort,
    };
  },

  /**
   * One queued row a worker read as a claim candidate: queued → running under this worker's lease.
   * A resume (next_method set) keeps its try number, start date and execution deadline; a fresh
   * try starts try_number + 1, now, with its execution deadline (start + execution_timeout, known
   * to the worker that loaded the DAG) on the row so any process can enforce it.
   */
  claimRow: (ti: Pick<TaskInstanceDoc, '_id' | 'next_method'>, owner: ClaimOwner, now: Date, executionTimeoutMs: number | null): TiPlan => {
    const own = {
      state: 'running' as const,
      worker_id: owner.workerId,
      lease_token: owner.leaseToken,
      lease_expires_at: owner.leaseExpiresAt,
      hostname: owner.hostname,
      pid: owner.pid,
    };
    if (ti.next_method !== null) return { filter: { _id: ti._id, state: 'queued', next_method: ti.next_method }, update: { $set: own } };
    return {
      filter: { _id: ti._id, state: 'queued', next_method: null },
      update: {
        $set: {
          ...own,
          start_date: now,
          end_date: null,
          duration: null,
          last_error: null,
          execution_deadline: executionTimeoutMs === null ? null : new Date(now.getTime() + executionTimeoutMs),
        },
        $inc: { try_number: 1 },
      },
    };
  },

  finish: (ti: TaskInstanceDoc, token: string, outcome: FinishOutcome, extra: { renderedFields?: string | null; heldMs: number }, now: Date): TiPlan => {
    const set: Partial<TaskInstanceDoc> = {
      ...RELEASE_LEASE,
      // A finished try never resumes again; a retry starts fresh.
      ...NO_DEFERRAL,
      state: outcome.state,
      end_date: now,
      duration: ti.start_date ? (now.getTime() - ti.start_date.getTime()) / 1000 : null,
      scheduled_after: null,
      last_error: null,
      // Counted into deferred_ms by this very update; reset so a later try does not count it again.
      deferred_at: null,
      resumed_at: null,
      ...cleanTry(),
    };
    if (extra.renderedFields !== undefined) set.rendered_fields = extra.renderedFields;
    if (outcome.state === 'failed' || outcome.state === 'up_for_retry') set.last_error = outcome.error;
    const error = outcome.state === 'failed' || outcome.state === 'up_for_retry' ? outcome.error : null;
    if (outcome.state === 'up_for_retry') set.scheduled_after = outcome.retryAt;
    if (outcome.state === 'up_for_reschedule') set.scheduled_after = outcome.rescheduleAt;
    return {
      filter: { _id: ti._id, state: 'running', lease_token: token },
      update: {
        $set: set,
        $inc: { running_ms: Math.max(0, Math.round(extra.heldMs)), deferred_ms: deferredMsOf(ti) },
        // The try ends here: its record goes into the history with this very write.
        $push: { tries: endedTry(ti, outcome.state, now, 'worker', error) },
      },
    };
  },

  defer: (ti: TaskInstanceDoc, token: string, args: DeferArgs, extra: { renderedFields?: string | null; heldMs: number }, now: Date): TiPlan => {
    const set: Partial<TaskInstanceDoc> = {
      ...RELEASE_LEASE,
      state: 'deferred',
      trigger_id: args.triggerId,
      next_method: args.nextMethod,
      next_kwargs: JSON.stringify(args.nextKwargs ?? {}),
      trigger_timeout: args.triggerTimeout,
      trigger_event: null,
      fail_reason: null,
      deferred_at: now,
      resumed_at: null,
      // The deadline the worker enforced while running, on the row from here on: while deferred
      // only the scheduler can enforce it.
      execution_deadline: ti.execution_deadline,
      deferral_trigger: { id: args.triggerId, kind: args.trigger?.kind ?? null, description: args.trigger?.description ?? null },
    };
    if (extra.renderedFields !== undefined) set.rendered_fields = extra.renderedFields;
    // History: a try's first deferral remembers when the try was queued (a resumed task is queued
    // again); a later one moves the window that just closed into try_deferrals.
    const closed = resumedWindow(ti);
    if (ti.next_method == null) Object.assign(set, { try_queued_at: ti.queued_dttm, try_deferrals: [] });
    return {
      filter: { _id: ti._id, state: 'running', lease_token: token },
      update: {
        $set: set,
        $inc: { running_ms: Math.max(0, Math.round(extra.heldMs)), deferred_ms: deferredMsOf(ti) },
        ...(closed ? { $push: { try_deferrals: closed } } : {}),
      },
    };
  },

  resumeFromTrigger: (triggerId: string, event: unknown, tiId: string | undefined, now: Date): TiPlan => ({
    filter: { ...(tiId ? { _id: tiId } : {}), trigger_id: triggerId, state: 'deferred' },
    update: {
      $set: { state: 'scheduled', trigger_id: null, trigger_event: JSON.stringify(event ?? null), fail_reason: null, resumed_at: now, scheduled_after: null },
    },
  }),

  failFromTrigger: (triggerId: string, reason: FailReason, tiId: string | undefined, now: Date): TiPlan =>
    resumeIntoFail({ ...(tiId ? { _id: tiId } : {}), trigger_id: triggerId }, reason, now),

  /** Guarded by the version (and state) read just before: any write in between makes it lose. */
  clear: (before: TaskInstanceDoc, retries: number, now: Date = new Date()): TiPlan => {
    const history = recordTryEnd(before, before.state, now, 'clear');
    return {
      filter: { _id: before._id, version: before.version, state: before.state },
      update: {
        ...(history.push ? { $push: history.push, $inc: { deferred_ms: history.deferredMs } } : {}),
        $set: {
          ...history.set,
          ...RELEASE_LEASE,
          ...NO_DEFERRAL,
          state: null,
          max_tries: before.try_number + retries,
          scheduled_after: null,
          queued_dttm: null,
          end_date: null,
          trigger_timeout: null,
          execution_deadline: null,
          last_error: null,
        },
      },
    };
  },

  markState: (before: TaskInstanceDoc, state: 'success' | 'failed' | 'skipped', now: Date): TiPlan => {
    const history = recordTryEnd(before, state, now, 'mark');
    return {
      filter: { _id: before._id, version: before.version, state: before.state },
      update: {
        ...(history.push ? { $push: history.push, $inc: { deferred_ms: history.deferredMs } } : {}),
        $set: { ...history.set, ...RELEASE_LEASE, ...NO_DEFERRAL, state, end_date: now, scheduled_after: null },
      },
    };
  },
} as const satisfies Record<TiTransition | 'claimRow', (...args: never[]) => TiPlan>;
