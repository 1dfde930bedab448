/** The UI's memory of deferral windows, which the Gantt draws after the row has forgotten them. */
import { describe, expect, it } from 'vitest';
import type { ApiTaskInstance } from '../../src/api/serializers.ts';
import { DeferralWindows } from '../../src/ui/app/deferral-windows.ts';

const T0 = Date.parse('2025-05-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function ti(over: Partial<ApiTaskInstance>): ApiTaskInstance {
  return {
    task_id: 'train_model',
    dag_id: 'd',
    dag_run_id: 'r',
    map_index: -1,
    execution_date: at(0),
    logical_date: at(0),
    start_date: at(0),
    end_date: null,
    duration: null,
    state: 'running',
    try_number: 1,
    max_tries: 0,
    task_display_name: 'train_model',
    rendered_map_index: null,
    hostname: '',
    unixname: '',
    pid: null,
    pool: 'default_pool',
    pool_slots: 1,
    queue: 'default',
    priority_weight: 1,
    operator: 'X',
    queued_when: at(0),
    executor: null,
    executor_config: '{}',
    note: null,
    try_queued_at: at(0),
    deferrals: [],
    rendered_fields: {},
    trigger: null,
    triggerer_job: null,
    next_method: null,
    deferred_at: null,
    resumed_at: null,
    trigger_timeout: null,
    running_ms: 0,
    deferred_ms: 0,
    last_error: null,
    version: 1,
    updated_at: at(0),
    ...over,
  };
}

describe('DeferralWindows', () => {
  it('keeps a window seen live after the finished row drops deferred_at / resumed_at', () => {
    const m = new DeferralWindows();
    m.record(ti({ state: 'deferred', deferred_at: at(1) }));
    expect(m.windows(ti({ state: 'deferred', deferred_at: at(1) }))).toEqual([{ from: T0 + 1000, to: null }]);
    m.record(ti({ state: 'scheduled', deferred_at: at(1), resumed_at: at(6) }));
    const done = ti({ state: 'success', end_date: at(7), deferred_ms: 5000 });
    m.record(done);
    expect(m.windows(done)).toEqual([{ from: T0 + 1000, to: T0 + 6000 }]);
  });

  it("closes a window whose resume went unseen from the row's deferred_ms", () => {
    const m = new DeferralWindows();
    m.record(ti({ state: 'deferred', deferred_at: at(2) }));
    expect(m.windows(ti({ state: 'success', end_date: at(9), deferred_ms: 4500 }))).toEqual([{ from: T0 + 2000, to: T0 + 6500 }]);
  });

  it('keeps several deferrals of one try apart, and tries apart from each other', () => {
    const m = new DeferralWindows();
    m.record(ti({ state: 'scheduled', deferred_at: at(1), resumed_at: at(3) }));
    m.record(ti({ state: 'deferred', deferred_at: at(4) }));
    expect(m.windows(ti({ state: 'success', deferred_ms: 5000 }))).toEqual([
      { from: T0 + 1000, to: T0 + 3000 },
      { from: T0 + 4000, to: T0 + 7000 },
    ]);
    expect(m.windows(ti({ state: 'running', try_number: 2 }))).toEqual([]);
    expect(m.windows(ti({ state: 'success', dag_run_id: 'other' }))).toEqual([]);
  });
});
