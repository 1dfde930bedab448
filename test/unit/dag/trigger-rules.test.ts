import { describe, expect, it } from 'vitest';
import { TRIGGER_RULES, evaluateTriggerRule, summarizeUpstream, type RuleDecision, type TriggerRule } from '../../../src/dag/trigger-rules.ts';

const R: RuleDecision = 'ready';
const W: RuleDecision = 'wait';
const S: RuleDecision = 'skipped';
const U: RuleDecision = 'upstream_failed';

// Upstream state sets; expectations below were derived line by line from Airflow 2.x's
// TriggerRuleDep._evaluate_direct_relatives with flag_upstream_failed=True.
const SCENARIOS: Record<string, Array<string | null>> = {
  allSuccess: ['success', 'success', 'success'],
  oneRunning: ['success', 'success', 'running'],
  failedWhileRunning: ['failed', 'running', null],
  failedAllDone: ['failed', 'success', 'success'],
  skippedAllDone: ['skipped', 'success', 'success'],
  allSkipped: ['skipped', 'skipped', 'skipped'],
  upstreamFailed: ['upstream_failed', 'success', 'success'],
  allFailed: ['failed', 'failed', 'upstream_failed'],
  nothingDone: [null, 'scheduled', 'queued'],
  skippedAndFailed: ['skipped', 'failed', 'skipped'],
  successSkippedPending: ['success', 'skipped', 'deferred'],
  mixedDone: ['success', 'failed', 'skipped'],
  removed: ['removed', 'success', 'success'],
  allUpstreamFailed: ['upstream_failed', 'upstream_failed', 'upstream_failed'],
  upstreamFailedPending: ['upstream_failed', 'up_for_retry', null],
};

type Row = Partial<Record<keyof typeof SCENARIOS, RuleDecision>>;

const TABLE: Record<TriggerRule, Row> = {
  all_success: {
    allSuccess: R,
    oneRunning: W,
    failedWhileRunning: U,
    failedAllDone: U,
    skippedAllDone: S,
    allSkipped: S,
    upstreamFailed: U,
    allFailed: U,
    nothingDone: W,
    skippedAndFailed: U,
    successSkippedPending: S,
    mixedDone: U,
    removed: W,
    allUpstreamFailed: U,
    upstreamFailedPending: U,
  },
  all_failed: {
    allSuccess: S,
    oneRunning: S,
    failedWhileRunning: W,
    failedAllDone: S,
    skippedAllDone: S,
    allSkipped: S,
    upstreamFailed: S,
    allFailed: R,
    nothingDone: W,
    skippedAndFailed: S,
    successSkippedPending: S,
    mixedDone: S,
    removed: S,
    allUpstreamFailed: R,
    upstreamFailedPending: W,
  },
  all_done: {
    allSuccess: R,
    oneRunning: W,
    failedWhileRunning: W,
    failedAllDone: R,
    skippedAllDone: R,
    allSkipped: R,
    upstreamFailed: R,
    allFailed: R,
    nothingDone: W,
    skippedAndFailed: R,
    successSkippedPending: W,
    mixedDone: R,
    removed: R,
    allUpstreamFailed: R,
    upstreamFailedPending: W,
  },
  one_success: {
    allSuccess: R,
    oneRunning: R,
    failedWhileRunning: W,
    failedAllDone: R,
    skippedAllDone: R,
    allSkipped: S,
    upstreamFailed: R,
    allFailed: U,
    nothingDone: W,
    skippedAndFailed: U,
    successSkippedPending: R,
    mixedDone: R,
    removed: R,
    allUpstreamFailed: U,
    upstreamFailedPending: W,
  },
  one_failed: {
    allSuccess: S,
    oneRunning: W,
    failedWhileRunning: R,
    failedAllDone: R,
    skippedAllDone: S,
    allSkipped: S,
    upstreamFailed: R,
    allFailed: R,
    nothingDone: W,
    skippedAndFailed: R,
    successSkippedPending: W,
    mixedDone: R,
    removed: S,
    allUpstreamFailed: R,
    upstreamFailedPending: R,
  },
  one_done: {
    allSuccess: R,
    oneRunning: R,
    failedWhileRunning: R,
    failedAllDone: R,
    skippedAllDone: R,
    allSkipped: S,
    upstreamFailed: R,
    allFailed: R,
    nothingDone: W,
    skippedAndFailed: R,
    successSkippedPending: R,
    mixedDone: R,
    removed: R,
    allUpstreamFailed: S,
    upstreamFailedPending: W,
  },
  none_failed: {
    allSuccess: R,
    oneRunning: W,
    failedWhileRunning: U,
    failedAllDone: U,
    skippedAllDone: R,
    allSkipped: R,
    upstreamFailed: U,
    allFailed: U,
    nothingDone: W,
    skippedAndFailed: U,
    successSkippedPending: W,
    mixedDone: U,
    removed: W,
    allUpstreamFailed: U,
    upstreamFailedPending: U,
  },
  none_failed_min_one_success: {
    allSuccess: R,
    oneRunning: W,
    failedWhileRunning: U,
    failedAllDone: U,
    skippedAllDone: R,
    allSkipped: S,
    upstreamFailed: U,
    allFailed: U,
    nothingDone: W,
    skippedAndFailed: U,
    successSkippedPending: W,
    mixedDone: U,
    removed: W,
    allUpstreamFailed: U,
    upstreamFailedPending: U,
  },
  none_skipped: {
    allSuccess: R,
    oneRunning: W,
    failedWhileRunning: W,
    failedAllDone: R,
    skippedAllDone: S,
    allSkipped: S,
    upstreamFailed: R,
    allFailed: R,
    nothingDone: W,
    skippedAndFailed: S,
    successSkippedPending: S,
    mixedDone: S,
    removed: R,
    allUpstreamFailed: R,
    upstreamFailedPending: W,
  },
  all_skipped: {
    allSuccess: S,
    oneRunning: S,
    failedWhileRunning: S,
    failedAllDone: S,
    skippedAllDone: S,
    allSkipped: R,
    upstreamFailed: S,
    allFailed: S,
    nothingDone: W,
    skippedAndFailed: S,
    successSkippedPending: S,
    mixedDone: S,
    removed: S,
    allUpstreamFailed: S,
    upstreamFailedPending: S,
  },
  always: Object.fromEntries(Object.keys(SCENARIOS).map((k) => [k, R])),
};

describe('summarizeUpstream', () => {
  it('counts finished states and treats everything else as not done', () => {
    expect(summarizeUpstream(['success', 'skipped', 'failed', 'upstream_failed', 'removed', 'running', null, 'deferred', 'up_for_retry'])).toEqual({
      total: 9,
      success: 1,
      skipped: 1,
      failed: 1,
      upstreamFailed: 1,
      removed: 1,
      done: 5,
    });
  });
  it('handles no upstream', () => {
    expect(summarizeUpstream([])).toEqual({ total: 0, success: 0, skipped: 0, failed: 0, upstreamFailed: 0, removed: 0, done: 0 });
  });
});

describe('evaluateTriggerRule (Airflow TriggerRuleDep, flag_upstream_failed=True)', () => {
  it('the table covers every rule', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...TRIGGER_RULES].sort());
  });

  for (const rule of TRIGGER_RULES) {
    describe(rule, () => {
      for (const [scenario, expected] of Object.entries(TABLE[rule])) {
        it(`${scenario} → ${expected}`, () => {
          expect(evaluateTriggerRule(rule, summarizeUpstream(SCENARIOS[scenario]))).toBe(expected);
        });
      }
      it('no upstream → ready', () => {
        expect(evaluateTriggerRule(rule, summarizeUpstream([]))).toBe('ready');
      });
    });
  }

  it('rejects an unknown rule', () => {
    expect(() => evaluateTriggerRule('dummy' as TriggerRule, summarizeUpstream(['success']))).toThrow(/Unknown trigger rule "dummy"/);
  });

  it('one_success with a single success among pending upstreams runs immediately', () => {
    expect(evaluateTriggerRule('one_success', summarizeUpstream(['success', null, null, null]))).toBe('ready');
  });
  it('one_failed fires on the first failure without waiting', () => {
    expect(evaluateTriggerRule('one_failed', summarizeUpstream(['failed', null, 'running']))).toBe('ready');
  });
  it('none_failed_min_one_success: only skipped done but others pending → wait', () => {
    expect(evaluateTriggerRule('none_failed_min_one_success', summarizeUpstream(['skipped', 'running']))).toBe('wait');
  });
});
