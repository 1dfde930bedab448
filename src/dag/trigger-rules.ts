/**
 * Trigger rules, decided exactly as Airflow 2.x's TriggerRuleDep does when the scheduler evaluates
 * a task instance with `flag_upstream_failed=True`: besides "can it run yet?", a rule may
 * settle the task's fate early (mark it skipped / upstream_failed) without waiting for every
 * upstream to finish.
 *
 * Not modelled (deferflow has no such features yet): setup/teardown tasks
 * (`all_done_setup_success`, indirect setup constraints), mapped-task `removed` accounting and
 * `wait_for_past_depends_before_skipping`.
 */

export const TRIGGER_RULES = [
  'all_success',
  'all_failed',
  'all_done',
  'one_success',
  'one_failed',
  'one_done',
  'none_failed',
  'none_failed_min_one_success',
  'none_skipped',
  'all_skipped',
  'always',
] as const;

export type TriggerRule = (typeof TRIGGER_RULES)[number];

export interface UpstreamSummary {
  total: number;
  success: number;
  skipped: number;
  failed: number;
  upstreamFailed: number;
  removed: number;
  /** success + skipped + failed + upstreamFailed + removed (Airflow's "finished" states). */
  done: number;
}

/**
 * `ready`: the dependency is met. `wait`: not yet. `skipped` / `upstream_failed`: the rule can never be
 * met, the scheduler must put the task in that state now.
 */
export type RuleDecision = 'ready' | 'wait' | 'skipped' | 'upstream_failed';

export function isTriggerRule(value: unknown): value is TriggerRule {
  return typeof value === 'string' && (TRIGGER_RULES as readonly string[]).includes(value);
}

/**
 * Count direct upstream task-instance states. Anything that is not one of Airflow's finished states
 * (null/none, scheduled, queued, running, deferred, up_for_retry, up_for_reschedule, …) is "not done".
 */
export function summarizeUpstream(states: ReadonlyArray<string | null>): UpstreamSummary {
  const s: UpstreamSummary = { total: states.length, success: 0, skipped: 0, failed: 0, upstreamFailed: 0, removed: 0, done: 0 };
  for (const state of states) {
    switch (state) {
      case 'success':
        s.success += 1;
        break;
      case 'skipped':
        s.skipped += 1;
        break;
      case 'failed':
        s.failed += 1;
        break;
      case 'upstream_failed':
        s.upstreamFailed += 1;
        break;
      case 'removed':
        s.removed += 1;
        break;
      default:
        continue;
    }
    s.done += 1;
  }
  return s;
}

/** The early verdict Airflow writes with flag_upstream_failed=True, or null when none applies. */
function settledState(rule: TriggerRule, s: UpstreamSummary): 'skipped' | 'upstream_failed' | null {
  const upstreamDone = s.done >= s.total;
  const anyFailure = s.failed > 0 || s.upstreamFailed > 0;
  switch (rule) {
    case 'all_success':
      if (anyFailure) return 'upstream_failed';
      if (s.skipped > 0) return 'skipped';
      return null;
    case 'all_failed':
      return s.success > 0 || s.skipped > 0 ? 'skipped' : null;
    case 'one_success':
      // All done and all skipped → skipped; all done, none succeeded otherwise → upstream_failed.
      if (upstreamDone && s.done === s.skipped) return 'skipped';
      if (upstreamDone && s.success <= 0) return 'upstream_failed';
      return null;
    case 'one_failed':
      return upstreamDone && !anyFailure ? 'skipped' : null;
    case 'one_done':
      // upstream_failed does not count as "done" for one_done, only success or failed do.
      return upstreamDone && !(s.failed > 0 || s.success > 0) ? 'skipped' : null;
    case 'none_failed':
      return anyFailure ? 'upstream_failed' : null;
    case 'none_failed_min_one_success':
      if (anyFailure) return 'upstream_failed';
      if (s.skipped === s.total) return 'skipped';
      return null;
    case 'none_skipped':
      return s.skipped > 0 ? 'skipped' : null;
    case 'all_skipped':
      return s.success > 0 || s.failed > 0 || s.upstreamFailed > 0 ? 'skipped' : null;
    case 'all_done':
    case 'always':
      return null;
  }
}

/** Whether the rule's dependency is met (Airflow's passing/failing dep status). */
function isMet(rule: TriggerRule, s: UpstreamSummary): boolean {
  const upstreamDone = s.done >= s.total;
  switch (rule) {
    case 'all_success':
      return s.total - s.success <= 0;
    case 'all_failed':
      return s.total - s.failed - s.upstreamFailed <= 0;
    case 'all_done':
      return upstreamDone;
    case 'one_success':
      return s.success > 0;
    case 'one_failed':
      return s.failed > 0 || s.upstreamFailed > 0;
    case 'one_done':
      return s.success + s.failed > 0;
    case 'none_failed':
    case 'none_failed_min_one_success':
      return s.total - s.success - s.skipped <= 0;
    case 'none_skipped':
      return upstreamDone && s.skipped === 0;
    case 'all_skipped':
      return s.total - s.skipped <= 0;
    case 'always':
      return true;
  }
}

export function evaluateTriggerRule(rule: TriggerRule, s: UpstreamSummary): RuleDecision {
  if (!isTriggerRule(rule)) {
    throw new Error(`Unknown trigger rule ${JSON.stringify(rule)}; expected one of ${TRIGGER_RULES.join(', ')}`);
  }
  // Airflow passes immediately for tasks without upstreams and for `always`, before counting anything.
  if (s.total === 0 || rule === 'always') return 'ready';
  const settled = settledState(rule, s);
  if (settled !== null) return settled;
  return isMet(rule, s) ? 'ready' : 'wait';
}
