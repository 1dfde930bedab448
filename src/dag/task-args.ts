/**
 * Arguments every operator accepts, spelled as in Airflow so DAGs port line by line
 * (except `taskId`). `DAG.defaultArgs` uses the same names and fills whatever a task leaves unset.
 */
import type { Duration } from '../util/duration.ts';
import type { TriggerRule } from '../scheduler/trigger-rules.ts';
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
