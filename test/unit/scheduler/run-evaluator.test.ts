/** The scheduler's in-memory per-run decisions: trigger rules over a state snapshot, run outcome, deadlock. */
import { describe, expect, it } from 'vitest';
import { DAG, task } from '../../../src/dag/index.ts';
import { decideNoneStateTasks, runOutcome } from '../../../src/scheduler/run-evaluator.ts';
import type { TaskInstanceState } from '../../../src/store/schema.ts';

const dag = new DAG({ dagId: 'eval' }, () => {
  const a = task('a', () => 1);
  const b = task('b', () => 1);
  const join = task('join', () => 1);
  const cleanup = task('cleanup', () => 1, { trigger_rule: 'all_done' });
  a.then(b).then(join);
  a.then(cleanup);
  join.then(cleanup);
});
const states = (s: Record<string, TaskInstanceState>): Map<string, TaskInstanceState> => new Map(Object.entries(s));

describe('decideNoneStateTasks', () => {
  it('readies roots and tasks whose rule is met; leaves waiting ones out', () => {
    expect(decideNoneStateTasks(dag, states({ a: null, b: null, join: null, cleanup: null }))).toEqual(new Map([['a', 'ready']]));
    expect(decideNoneStateTasks(dag, states({ a: 'success', b: null, join: null, cleanup: null }))).toEqual(new Map([['b', 'ready']]));
  });

  it('settles upstream_failed / skipped early, and all_done only once everything upstream is done', () => {
    const d = decideNoneStateTasks(dag, states({ a: 'success', b: 'failed', join: null, cleanup: null }));
    expect(d).toEqual(new Map([['join', 'upstream_failed']]));
    expect(decideNoneStateTasks(dag, states({ a: 'success', b: 'failed', join: 'upstream_failed', cleanup: null }))).toEqual(new Map([['cleanup', 'ready']]));
    expect(decideNoneStateTasks(dag, states({ a: 'success', b: 'skipped', join: null, cleanup: null }))).toEqual(new Map([['join', 'skipped']]));
  });

  it('counts an upstream without a task instance as not done', () => {
    expect(decideNoneStateTasks(dag, states({ b: null }))).toEqual(new Map());
  });
});

describe('runOutcome', () => {
  it('is null while anything is unfinished', () => {
    expect(runOutcome(dag, states({ a: 'success', b: 'running', join: null, cleanup: null }))).toBeNull();
  });

  it('fails when a leaf failed or is upstream_failed, else succeeds (skips count as success)', () => {
    expect(runOutcome(dag, states({ a: 'success', b: 'success', join: 'success', cleanup: 'success' }))).toBe('success');
    expect(runOutcome(dag, states({ a: 'success', b: 'skipped', join: 'skipped', cleanup: 'success' }))).toBe('success');
    // A non-leaf failure with a successful all_done leaf: success, as in Airflow.
    expect(runOutcome(dag, states({ a: 'success', b: 'failed', join: 'upstream_failed', cleanup: 'success' }))).toBe('success');
    expect(runOutcome(dag, states({ a: 'success', b: 'success', join: 'success', cleanup: 'failed' }))).toBe('failed');
  });

  it('reports a deadlock when only none-state tasks remain and none can ever run', () => {
    // b was removed: join (all_success) waits forever on it.
    expect(runOutcome(dag, states({ a: 'success', b: 'removed', join: null, cleanup: null }))).toBe('deadlock');
  });
});
