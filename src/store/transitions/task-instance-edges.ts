/**
 * The task-instance state machine as data: every edge (from → to) a guarded transition may take,
 * the transition that takes it, and the role that calls it. Reading this table is reading every
 * way a task's state can change.
 *
 * Each write of TaskInstanceTransitions is checked against it before it is sent (assertTiEdges:
 * the states its guard names × the state it sets must all be rows of its transition), so a new or
 * edited transition cannot take an unlisted edge without failing loudly; a unit test checks every
 * plan and every transition method against the table, and that every row is used.
 *
 * Roles, not processes: `tasks test` plays the scheduler for its one task, and a Runtime without a
 * triggerer resumes tasks from events itself (the triggerer's role).
 */
import type { Filter, UpdateFilter } from 'mongodb';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { TASK_INSTANCE_STATES, type TaskInstanceDoc, type TaskInstanceState } from '../schema.ts';

export type TiRole = 'scheduler' | 'worker' | 'triggerer' | 'user';

/** Every state, `null` (Airflow's none) included. */
export const ANY_TI_STATE: readonly TaskInstanceState[] = [null, ...TASK_INSTANCE_STATES];
/** States a task instance can be in when its task vanished from the DAG and it is not running. */
const REMOVABLE: readonly TaskInstanceState[] = [null, 'scheduled', 'up_for_retry', 'up_for_reschedule', 'deferred', 'restarting', 'shutdown'];

interface EdgeGroup {
  readonly roles: readonly TiRole[];
  readonly from: readonly TaskInstanceState[];
  readonly to: readonly TaskInstanceState[];
}

/** transition → the edges it may take (every `from` to every `to`), and who calls it. */
export const TI_EDGE_TABLE = {
  // scheduler
  schedule: { roles: ['scheduler'], from: [null], to: ['scheduled'] },
  queueFromNone: { roles: ['scheduler'], from: [null], to: ['queued'] },
  queue: { roles: ['scheduler'], from: ['scheduled'], to: ['queued'] },
  settleWithoutRunning: { roles: ['scheduler'], from: [null, 'scheduled'], to: ['skipped', 'upstream_failed', 'removed'] },
  retryReady: { roles: ['scheduler'], from: ['up_for_retry', 'up_for_reschedule'], to: ['scheduled'] },
  removeMissingTask: { roles: ['scheduler'], from: REMOVABLE, to: ['removed'] },
  reapZombie: { roles: ['scheduler'], from: ['running'], to: ['up_for_retry', 'failed'] },
  failDeferredPastDeadline: { roles: ['scheduler'], from: ['deferred'], to: ['scheduled'] },
  // worker
  claim: { roles: ['worker'], from: ['queued'], to: ['running'] },
  finish: { roles: ['worker'], from: ['running'], to: ['success', 'skipped', 'failed', 'up_for_retry', 'up_for_reschedule'] },
  defer: { roles: ['worker'], from: ['running'], to: ['deferred'] },
  // triggerer
  resumeFromTrigger: { roles: ['triggerer'], from: ['deferred'], to: ['scheduled'] },
  failFromTrigger: { roles: ['triggerer'], from: ['deferred'], to: ['scheduled'] },
  // users (API, CLI, UI); the scheduler marks skipped when a run exceeds dagrun_timeout
  clear: { roles: ['user'], from: ANY_TI_STATE, to: [null] },
  markState: { roles: ['user', 'scheduler'], from: ANY_TI_STATE, to: ['success', 'failed', 'skipped'] },
} as const satisfies Record<string, EdgeGroup>;

export type TiTransition = keyof typeof TI_EDGE_TABLE;

export interface TiEdge {
  transition: TiTransition;
  from: TaskInstanceState;
  to: TaskInstanceState;
  roles: readonly TiRole[];
}

/** The table as one row per edge (docs, tests). */
export function tiEdges(): TiEdge[] {
  const rows: TiEdge[] = [];
  for (const [transition, g] of Object.entries(TI_EDGE_TABLE) as Array<[TiTransition, EdgeGroup]>) {
    for (const from of g.from) for (const to of g.to) rows.push({ transition, from, to, roles: g.roles });
  }
  return rows;
}

/** The states a guard filter admits: `state: X`, `state: null` or `state: { $in: [...] }`; undefined when it names none. */
export function guardedStates(filter: Filter<TaskInstanceDoc>): TaskInstanceState[] | undefined {
  if (!('state' in filter)) return undefined;
  const s = filter.state as unknown;
  if (s === null || typeof s === 'string') return [s as TaskInstanceState];
  if (s && typeof s === 'object' && Array.isArray((s as { $in?: unknown }).$in)) return [...(s as { $in: TaskInstanceState[] }).$in];
  return undefined;
}

/** The state an update sets, or undefined when it sets none. */
export function targetState(update: UpdateFilter<TaskInstanceDoc>): TaskInstanceState | undefined {
  const set = update.$set as Record<string, unknown> | undefined;
  if (!set || !('state' in set)) return undefined;
  return set.state as TaskInstanceState;
}

/**
 * Throw unless every edge the write can take is a row of `transition`: the guard must name the
 * states it starts from (a state change guarded on something else could start anywhere) and the
 * update must set a state.
 */
export function assertTiEdges(transition: TiTransition, filter: Filter<TaskInstanceDoc>, update: UpdateFilter<TaskInstanceDoc>): void {
  const g: EdgeGroup = TI_EDGE_TABLE[transition];
  const from = guardedStates(filter);
  const to = targetState(update);
  const bad = (why: string): never => {
    throw new DeferflowError(
      'STATE_CONFLICT',
      `Task-instance transition '${transition}' ${why}; see TI_EDGE_TABLE in src/store/transitions/task-instance-edges.ts`,
    );
  };
  if (from === undefined) bad('does not name the state it starts from in its guard');
  if (to === undefined) bad('does not set a state');
  for (const f of from!) {
    if (!g.from.includes(f)) bad(`may not start from ${f ?? 'none'}`);
  }
  if (!g.to.includes(to!)) bad(`may not move a task instance to ${to ?? 'none'}`);
}
