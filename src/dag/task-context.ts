/**
 * What `execute(ctx)` and resume methods receive. It is Airflow's template context (ds, ts_nodash,
 * params, dag_run, ti, var, conn, macros … — the same object templates render against) plus the
 * runtime handles a task needs: its logger, an abort signal and async XCom/variable access.
 */
import type { Logger } from 'pino';
import type { Services } from '../services/services.ts';

export interface TaskInstanceHandle {
  dag_id: string;
  task_id: string;
  run_id: string;
  try_number: number;
  max_tries: number;
  /** Synchronous pull from the XComs of this run loaded when the try started (Airflow semantics). */
  xcom_pull(taskIds: string | string[] | Record<string, unknown>, key?: string): unknown;
  /** Persist an XCom for this task instance under `key`. */
  xcom_push(key: string, value: unknown): Promise<void>;
}

export interface TaskContext {
  // Airflow template context (subset typed here; everything buildTemplateContext adds is present).
  ds: string;
  ds_nodash: string;
  ts: string;
  ts_nodash: string;
  run_id: string;
  params: Record<string, unknown>;
  dag_run: { conf: Record<string, unknown>; run_id: string; run_type: string; logical_date: unknown };
  logical_date: unknown;
  data_interval_start: unknown;
  data_interval_end: unknown;
  ti: TaskInstanceHandle;
  task_instance: TaskInstanceHandle;
  [key: string]: unknown;

  /** Per-try task logger (pino child with dag/run/task/try; lines are stored and readable later). */
  log: Logger;
  /** Aborted on execution_timeout or when the worker is shutting down / the task was externally marked. */
  signal: AbortSignal;
  /** What the worker's process was assembled with (AWS clients …); see src/services/services.ts. */
  services: Services;
  /** Render an ad-hoc template against this context. */
  render(template: string): string;
  /** Read a variable (string) fresh from the store; throws when absent and no default given. */
  getVariable(key: string, defaultValue?: string): Promise<string>;
  /**
   * Call right before an external side effect (submitting, stopping or updating a job, writing an
   * object): renews this try's lease with a guarded write and resolves only while the try still
   * owns its task instance. When it does not (the worker was paused past its lease and the try was
   * retried elsewhere) it aborts the try and rejects with LeaseLost — the side effect must not
   * happen. Cheap enough to call before every such call.
   */
  fence(): Promise<void>;
}
