/**
 * The task-instance edge table is the whole state machine: every transition method of
 * TaskInstanceTransitions may only send guarded writes whose (guarded state → set state) pairs are
 * rows of its own transition, and every row of the table is taken by some call. The methods run
 * against a recording stand-in for the collection (no server: this checks what they send, the
 * integration tests check what the servers do with it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Filter, UpdateFilter } from 'mongodb';
import { TaskInstanceTransitions } from '../../../src/store/transitions/task-instance-transitions.ts';
import {
  ANY_TI_STATE,
  TI_EDGE_TABLE,
  assertTiEdges,
  guardedStates,
  targetState,
  tiEdges,
  type TiTransition,
} from '../../../src/store/transitions/task-instance-edges.ts';
import { TI_PLANS } from '../../../src/store/transitions/task-instance-plans.ts';
import type { Store } from '../../../src/store/store.ts';
import type { TaskInstanceDoc, TaskInstanceState } from '../../../src/store/schema.ts';

interface SentWrite {
  filter: Filter<TaskInstanceDoc>;
  update: UpdateFilter<TaskInstanceDoc>;
}

function tiDoc(state: TaskInstanceState): TaskInstanceDoc {
  const t = new Date('2025-01-01T00:00:00Z');
  return {
    _id: 'd|r|t',
    dag_id: 'd',
    run_id: 'r',
    task_id: 't',
    map_index: -1,
    logical_date: t,
    state,
    try_number: 1,
    max_tries: 2,
    operator: 'Op',
    queue: 'default',
    priority_weight: 1,
    scheduled_after: null,
    queued_dttm: null,
    start_date: t,
    end_date: null,
    duration: null,
    worker_id: 'w',
    lease_token: 'tok',
    lease_expires_at: t,
    hostname: 'h',
    pid: 1,
    trigger_id: state === 'deferred' ? 'trig' : null,
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
    version: 3,
    updated_at: t,
  };
}

/** Records every findOneAndUpdate and bulk update; answers reads with the row in `current` state. */
function recordingStore(): { store: Store; sent: SentWrite[]; setCurrent(s: TaskInstanceState): void } {
  const sent: SentWrite[] = [];
  let current: TaskInstanceState = null;
  const cursor = () => ({ sort: () => cursor(), limit: () => cursor(), toArray: async () => [tiDoc(current)] });
  const taskInstances = {
    collectionName: 'task_instances',
    findOneAndUpdate: async (filter: Filter<TaskInstanceDoc>, update: UpdateFilter<TaskInstanceDoc>) => {
      sent.push({ filter, update });
      return { ...tiDoc(current), ...((update.$set as object) ?? {}) };
    },
    bulkWrite: async (ops: Array<{ updateOne: SentWrite }>) => {
      for (const o of ops) sent.push({ filter: o.updateOne.filter, update: o.updateOne.update });
      return { matchedCount: ops.length };
    },
    find: () => cursor(),
    findOne: async () => tiDoc(current),
    updateOne: async () => ({ matchedCount: 1 }),
  };
  const triggers = { deleteOne: async () => ({ deletedCount: 1 }) };
  const store = { db: { collection: () => ({}) }, taskInstances, triggers } as unknown as Store;
  return { store, sent, setCurrent: (s) => (current = s) };
}

const key = (t: TiTransition, from: TaskInstanceState, to: TaskInstanceState) => `${t}: ${from ?? 'none'} → ${to ?? 'none'}`;

/** The edges a recorded write takes, for the transition it was sent by. */
function edgesOf(t: TiTransition, w: SentWrite): string[] {
  const from = guardedStates(w.filter);
  const to = targetState(w.update);
  expect(from, `${t}: its guard names no state`).toBeDefined();
  expect(to, `${t}: it sets no state`).not.toBeUndefined();
  return from!.map((f) => key(t, f, to!));
}

let savedLocks: string | undefined;
beforeAll(() => {
  savedLocks = process.env.DEFERFLOW_DOC_LOCKS;
  process.env.DEFERFLOW_DOC_LOCKS = '0';
});
afterAll(() => {
  if (savedLocks === undefined) delete process.env.DEFERFLOW_DOC_LOCKS;
  else process.env.DEFERFLOW_DOC_LOCKS = savedLocks;
});

describe('task-instance edge table', () => {
  const allowed = new Set(tiEdges().map((e) => key(e.transition, e.from, e.to)));
  const taken = new Set<string>();

  /** Every way each transition method can be called, with the transition it must stay within. */
  const calls: Array<{
    t: TiTransition;
    states: readonly TaskInstanceState[];
    run: (tis: TaskInstanceTransitions, current: TaskInstanceDoc) => Promise<unknown>;
  }> = [
    { t: 'schedule', states: [null], run: (tis, ti) => tis.schedule(ti._id) },
    ...(['skipped', 'upstream_failed', 'removed'] as const).map((s) => ({
      t: 'settleWithoutRunning' as const,
      states: [null],
      run: (tis: TaskInstanceTransitions, ti: TaskInstanceDoc) => tis.settleWithoutRunning(ti._id, s),
    })),
    ...(['up_for_retry', 'up_for_reschedule'] as const).map((s) => ({
      t: 'retryReady' as const,
      states: [s],
      run: (tis: TaskInstanceTransitions, ti: TaskInstanceDoc) => tis.retryReady(ti._id, s),
    })),
    { t: 'queueFromNone', states: [null], run: (tis, ti) => tis.queueFromNone(ti._id) },
    { t: 'queue', states: ['scheduled'], run: (tis, ti) => tis.queue(ti._id) },
    {
      t: 'removeMissingTask',
      states: TI_EDGE_TABLE.removeMissingTask.from,
      run: (tis, ti) => tis.removeMissingTask(ti._id, ti.state),
    },
    {
      t: 'removeMissingTask',
      states: TI_EDGE_TABLE.removeMissingTask.from,
      run: (tis, ti) => tis.removeMissingTaskAndDropTrigger(ti),
    },
    { t: 'reapZombie', states: ['running'], run: (tis, ti) => tis.reapZombie(ti, new Date(), 'zombie') },
    { t: 'reapZombie', states: ['running'], run: (tis, ti) => tis.reapZombie(ti, null, 'zombie') },
    ...(['trigger_timeout', 'execution_timeout'] as const).flatMap((kind) => [
      {
        t: 'failDeferredPastDeadline' as const,
        states: ['deferred'] as const,
        run: (tis: TaskInstanceTransitions, ti: TaskInstanceDoc) => tis.failDeferredPastDeadline(ti, { kind, message: kind }),
      },
      {
        t: 'failDeferredPastDeadline' as const,
        states: ['deferred'] as const,
        run: (tis: TaskInstanceTransitions, ti: TaskInstanceDoc) => tis.failPastDeadlineAndDropTrigger(ti, { kind, message: kind }),
      },
    ]),
    { t: 'claim', states: ['queued'], run: (tis) => tis.claim({ workerId: 'w', hostname: 'h', pid: 1, leaseMs: 1000, executionTimeoutMs: () => 5 }) },
    ...(
      [
        { state: 'success' },
        { state: 'skipped' },
        { state: 'failed', error: 'x' },
        { state: 'up_for_retry', error: 'x', retryAt: new Date() },
        { state: 'up_for_reschedule', rescheduleAt: new Date() },
      ] as const
    ).map((outcome) => ({
      t: 'finish' as const,
      states: ['running'] as const,
      run: (tis: TaskInstanceTransitions, ti: TaskInstanceDoc) => tis.finish(ti, 'tok', outcome, { heldMs: 1 }),
    })),
    {
      t: 'defer',
      states: ['running'],
      run: (tis, ti) => tis.defer(ti, 'tok', { triggerId: 'trig', nextMethod: 'm', nextKwargs: {}, triggerTimeout: null }, { heldMs: 1 }),
    },
    // batched forms (one round trip for many rows): the same edges as their single forms
    {
      t: 'queueFromNone',
      states: [null],
      run: (tis, ti) => tis.queueMany([ti], { schedulerId: 's' }),
    },
    { t: 'queue', states: ['scheduled'], run: (tis, ti) => tis.queueMany([ti], { schedulerId: 's' }) },
    { t: 'schedule', states: [null], run: (tis, ti) => tis.scheduleMany([ti]) },
    ...(['skipped', 'upstream_failed'] as const).map((state) => ({
      t: 'settleWithoutRunning' as const,
      states: [null, 'scheduled'] as const,
      run: (tis: TaskInstanceTransitions, ti: TaskInstanceDoc) => tis.settleMany([{ ti, state }]),
    })),
    { t: 'retryReady', states: ['up_for_retry', 'up_for_reschedule'], run: (tis, ti) => tis.retryReadyMany([ti]) },
    { t: 'schedule', states: [null], run: (tis, ti) => tis.applyBatch([{ transition: 'schedule', plan: TI_PLANS.schedule(ti._id), before: ti }]) },
    {
      t: 'claim',
      states: ['queued'],
      run: (tis) => tis.claimMany({ workerId: 'w', hostname: 'h', pid: 1, leaseMs: 1000, limit: 4, executionTimeoutMs: () => 5 }),
    },
    {
      t: 'finish',
      states: ['running'],
      run: (tis, ti) => tis.settleTries([TaskInstanceTransitions.finishItem(ti, 'tok', { state: 'success' }, { heldMs: 1 }, new Date())]),
    },
    {
      t: 'defer',
      states: ['running'],
      run: (tis, ti) =>
        tis.settleTries([
          TaskInstanceTransitions.deferItem(ti, 'tok', { triggerId: 'trig', nextMethod: 'm', nextKwargs: {}, triggerTimeout: null }, { heldMs: 1 }, new Date()),
        ]),
    },
    { t: 'resumeFromTrigger', states: ['deferred'], run: (tis) => tis.resumeFromTrigger('trig', { ok: 1 }) },
    { t: 'resumeFromTrigger', states: ['deferred'], run: (tis) => tis.resolveTriggerAndDropIt({ triggerId: 'trig' }, { type: 'event', payload: 1 }) },
    { t: 'failFromTrigger', states: ['deferred'], run: (tis) => tis.failFromTrigger('trig', 'boom', 'd|r|t') },
    {
      t: 'failFromTrigger',
      states: ['deferred'],
      run: (tis) => tis.resolveTriggerAndDropIt({ triggerId: 'trig' }, { type: 'failure', reason: { kind: 'trigger_timeout', message: 't' } }),
    },
    // resolveTriggers: one outcome alone (one findOneAndUpdate), and a batch (one bulkWrite).
    ...(['one', 'batch'] as const).flatMap((how) => {
      const n = how === 'one' ? 1 : 2;
      const times = <T>(x: T): T[] => Array.from({ length: n }, () => x);
      return [
        {
          t: 'resumeFromTrigger' as const,
          states: ['deferred'] as const,
          run: (tis: TaskInstanceTransitions) =>
            tis.resolveTriggers(times({ triggerId: 'trig', tiId: 'd|r|t', outcome: { type: 'event' as const, payload: 1 } })),
        },
        {
          t: 'failFromTrigger' as const,
          states: ['deferred'] as const,
          run: (tis: TaskInstanceTransitions) =>
            tis.resolveTriggers(
              times({ triggerId: 'trig', tiId: 'd|r|t', outcome: { type: 'failure' as const, reason: { kind: 'trigger_failure' as const, message: 'x' } } }),
            ),
        },
      ];
    }),
    { t: 'clear', states: ANY_TI_STATE, run: (tis, ti) => tis.clear(ti._id, 1) },
    { t: 'clear', states: ANY_TI_STATE, run: (tis, ti) => tis.clearAndDropTrigger(ti._id, 1) },
    ...(['success', 'failed', 'skipped'] as const).flatMap((s) => [
      { t: 'markState' as const, states: ANY_TI_STATE, run: (tis: TaskInstanceTransitions, ti: TaskInstanceDoc) => tis.markState(ti._id, s) },
      { t: 'markState' as const, states: ANY_TI_STATE, run: (tis: TaskInstanceTransitions, ti: TaskInstanceDoc) => tis.markStateAndDropTrigger(ti._id, s) },
    ]),
  ];

  it('every call of every transition method only takes edges listed for its transition', async () => {
    for (const c of calls) {
      for (const state of c.states) {
        const rec = recordingStore();
        rec.setCurrent(state);
        await c.run(new TaskInstanceTransitions(rec.store), tiDoc(state));
        expect(rec.sent.length, `${c.t} from ${state ?? 'none'} sent no write`).toBeGreaterThan(0);
        for (const w of rec.sent) {
          for (const e of edgesOf(c.t, w)) {
            expect(allowed.has(e), `unlisted edge ${e}`).toBe(true);
            taken.add(e);
          }
        }
      }
    }
  });

  it('every row of the table is taken by some call (no dead edges)', () => {
    expect([...allowed].filter((e) => !taken.has(e))).toEqual([]);
  });

  it('every state-changing method of TaskInstanceTransitions is covered above', () => {
    const notStateChanges = new Set([
      'constructor',
      'col',
      'apply',
      'stamped',
      'createForRun',
      'createRowsForRun',
      'deleteForRun',
      'heartbeat',
      'heartbeatMany',
    ]);
    const covered = new Set(calls.map((c) => c.run.toString().match(/tis\.(\w+)\(/)?.[1]));
    const methods = Object.getOwnPropertyNames(TaskInstanceTransitions.prototype).filter((m) => !notStateChanges.has(m));
    expect(methods.filter((m) => !covered.has(m))).toEqual([]);
    // and every transition of the table has a plan and a method of the same name
    for (const t of Object.keys(TI_EDGE_TABLE)) {
      expect(TI_PLANS).toHaveProperty(t);
      expect(methods).toContain(t);
    }
  });

  it('a write outside the table is refused before it is sent', () => {
    expect(() => assertTiEdges('queue', { _id: 'x', state: 'running' }, { $set: { state: 'queued' } })).toThrow(/may not start from running/);
    expect(() => assertTiEdges('claim', { state: 'queued' }, { $set: { state: 'success' } })).toThrow(/may not move a task instance to success/);
    expect(() => assertTiEdges('schedule', { _id: 'x' }, { $set: { state: 'scheduled' } })).toThrow(/does not name the state/);
    expect(() => assertTiEdges('schedule', { _id: 'x', state: null }, { $set: { queued_dttm: null } })).toThrow(/does not set a state/);
    expect(() => assertTiEdges('settleWithoutRunning', { _id: 'x', state: { $in: [null, 'running'] } }, { $set: { state: 'skipped' } })).toThrow(
      /may not start from running/,
    );
  });

  it('a resume into __fail__ stores the typed reason with the resume and keeps the message in the event', () => {
    const plan = TI_PLANS.failDeferredPastDeadline({ _id: 'x', trigger_id: 't' }, { kind: 'execution_timeout', message: 'late' }, new Date());
    expect(plan.update.$set).toMatchObject({ next_method: '__fail__', fail_reason: { kind: 'execution_timeout', message: 'late' } });
    expect(JSON.parse((plan.update.$set as { trigger_event: string }).trigger_event)).toEqual({ error: 'late' });
  });
});
