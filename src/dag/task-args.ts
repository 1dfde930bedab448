/**
 * Arguments every operator accepts, spelled as in Airflow so DAGs port line by line
 * (except `taskId`). `DAG.defaultArgs` uses the same names and fills whatever a task leaves unset.
 *
 * `taskArgProblems` checks the ones deferflow itself interprets (durations, counts, the trigger
 * rule, the queue, callbacks) when the DAG file is imported: a `retry_delay: 'soon'` must be an
 * import error naming the file and line, not a throw inside a worker or scheduler loop the first
 * time a task fails.
 */
import type { Duration } from '../util/duration.ts';
import { parseDuration } from '../util/duration.ts';
import { TRIGGER_RULES, type TriggerRule } from './trigger-rules.ts';
import type { TaskContext } from './task-context.ts';

export type TaskCallback = (ctx: TaskContext, error?: unknown) => void | Promise<void>;

export interface BaseTaskArgs {
  retries?: number;
  retry_delay?: Duration;
  retry_exponential_backoff?: boolean;
  max_retry_delay?: Duration | null;
  /** Counted from the first start of the try, time spent deferred included. */
  execution_timeout?: Duration | null;
  trigger_rule?: TriggerRule;
  priority_weight?: number;
  queue?: string;
  owner?: string;
  doc_md?: string;
  on_success_callback?: TaskCallback;
  on_failure_callback?: TaskCallback;
  on_retry_callback?: TaskCallback;
  on_execute_callback?: TaskCallback;
  /** Provider arguments commonly set in default_args (Airflow passes them to operators that take them). */
  aws_conn_id?: string | null;
  region_name?: string | null;
  [extra: string]: unknown;
}

export interface OperatorArgs extends BaseTaskArgs {
  taskId: string;
}

/** Airflow defaults (airflow.cfg [core]/[operators]). */
export const TASK_ARG_DEFAULTS = {
  retries: 0,
  retry_delay: 300,
  retry_exponential_backoff: false,
  max_retry_delay: null,
  execution_timeout: null,
  trigger_rule: 'all_success',
  priority_weight: 1,
  queue: 'default',
  owner: 'airflow',
} as const satisfies Partial<BaseTaskArgs>;

/** Airflow bounds priority_weight to a 32-bit integer (it is summed along the graph). */
const PRIORITY_MIN = -2_147_483_648;
const PRIORITY_MAX = 2_147_483_647;

const CALLBACKS = ['on_success_callback', 'on_failure_callback', 'on_retry_callback', 'on_execute_callback'] as const;

function shown(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Problems with a duration argument, or none. `positive`: zero is refused too. */
export function durationProblem(name: string, value: unknown, opts: { nullable?: boolean; positive?: boolean } = {}): string | null {
  if (value === undefined || (opts.nullable && value === null)) return null;
  let ms: number;
  try {
    ms = parseDuration(value as Duration);
  } catch (e) {
    return `${name}: ${(e as Error).message}`;
  }
  if (opts.positive && ms <= 0) return `${name}: must be longer than 0, got ${shown(value)}`;
  return null;
}

/** Problems with an integer argument (`min` inclusive), or none. */
export function integerProblem(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value)) return `${name}: must be a whole number, got ${shown(value)}`;
  if (value < min || value > max) {
    return max === Number.MAX_SAFE_INTEGER ? `${name}: must be at least ${min}, got ${value}` : `${name}: must be between ${min} and ${max}, got ${value}`;
  }
  return null;
}

/**
 * Everything wrong with the task arguments deferflow interprets, one line each (empty when all
 * are fine). Unknown keys are left alone: operators take arguments of their own.
 */
export function taskArgProblems(args: Readonly<Record<string, unknown>>): string[] {
  const out: Array<string | null> = [
    integerProblem('retries', args.retries, 0),
    durationProblem('retry_delay', args.retry_delay),
    durationProblem('max_retry_delay', args.max_retry_delay, { nullable: true }),
    durationProblem('execution_timeout', args.execution_timeout, { nullable: true, positive: true }),
    integerProblem('priority_weight', args.priority_weight, PRIORITY_MIN, PRIORITY_MAX),
  ];
  if (args.retry_exponential_backoff !== undefined && typeof args.retry_exponential_backoff !== 'boolean') {
    out.push(`retry_exponential_backoff: must be true or false, got ${shown(args.retry_exponential_backoff)}`);
  }
  if (args.trigger_rule !== undefined && !(TRIGGER_RULES as readonly unknown[]).includes(args.trigger_rule)) {
    out.push(`trigger_rule: must be one of ${TRIGGER_RULES.join(', ')}, got ${shown(args.trigger_rule)}`);
  }
  if (args.queue !== undefined && (typeof args.queue !== 'string' || args.queue.trim() === '')) {
    out.push(`queue: must be a non-empty string, got ${shown(args.queue)}`);
  }
  for (const key of ['owner', 'doc_md'] as const) {
    if (args[key] !== undefined && typeof args[key] !== 'string') out.push(`${key}: must be a string, got ${shown(args[key])}`);
  }
  for (const key of ['aws_conn_id', 'region_name'] as const) {
    const v = args[key];
    if (v !== undefined && v !== null && typeof v !== 'string') out.push(`${key}: must be a string or null, got ${shown(v)}`);
  }
  for (const key of CALLBACKS) {
    if (args[key] !== undefined && args[key] !== null && typeof args[key] !== 'function') out.push(`${key}: must be a function, got ${shown(args[key])}`);
  }
  return out.filter((p): p is string => p !== null);
}
