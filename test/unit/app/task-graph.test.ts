/** The graph walk of clear / mark ("with upstream / downstream"), on stored task summaries. */
import { describe, expect, it } from 'vitest';
import { relatives, withRelatives } from '../../../src/app/task-graph.ts';
import type { DagTaskSummary } from '../../../src/store/schema.ts';

/** a → b → d, a → c → d, e alone. */
const tasks: DagTaskSummary[] = (
  [
    ['a', ['b', 'c'], []],
    ['b', ['d'], ['a']],
    ['c', ['d'], ['a']],
    ['d', [], ['b', 'c']],
    ['e', [], []],
  ] as const
).map(([task_id, down, up]) => ({
  task_id,
  operator: 'Op',
  downstream_task_ids: [...down],
  upstream_task_ids: [...up],
  trigger_rule: 'all_success',
  retries: 0,
  template_fields: [],
  location: '',
}));

describe('relatives', () => {
  it('walks downstream and upstream transitively, without the start tasks', () => {
    expect(relatives({ tasks }, ['a'], 'downstream').sort()).toEqual(['b', 'c', 'd']);
    expect(relatives({ tasks }, ['d'], 'upstream').sort()).toEqual(['a', 'b', 'c']);
    expect(relatives({ tasks }, ['b', 'd'], 'downstream')).toEqual([]);
    expect(relatives({ tasks }, ['e'], 'upstream')).toEqual([]);
  });

  it('ignores ids the DAG does not have', () => {
    expect(relatives({ tasks }, ['nope'], 'downstream')).toEqual([]);
  });
});

describe('withRelatives', () => {
  it('adds what is asked for, once each, given ids first', () => {
    expect(withRelatives({ tasks }, ['b'], { downstream: true })).toEqual(['b', 'd']);
    expect(withRelatives({ tasks }, ['b'], { upstream: true, downstream: true })).toEqual(['b', 'd', 'a']);
    expect(withRelatives({ tasks }, ['b'], {})).toEqual(['b']);
    // no stored DAG: only the given ids
    expect(withRelatives(null, ['b'], { downstream: true })).toEqual(['b']);
  });
});
