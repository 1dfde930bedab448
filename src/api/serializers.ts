/**
 * Documents → API resources, in Airflow's stable-API shapes (snake_case, ISO dates, `dag_run_id`).
 * Extra deferflow fields (deferral accounting, trigger) are added next to Airflow's, never instead.
 */
import type { DagDoc, DagRunDoc, DagTaskSummary, ImportErrorDoc, JobDoc, TaskInstanceDoc, TriggerDoc, VariableDoc, XComDoc } from '../store/schema.ts';
import { describeSchedule } from '../dag/timetable.ts';

export type Iso = string | null;
const iso = (d: Date | null | undefined): Iso => (d ? d.toISOString() : null);

export function parseJson(s: string | null | undefined, fallback: unknown = null): unknown {
  if (s == null) return fallback;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

export interface ApiDag {
  dag_id: string;
  description: string | null;
  fileloc: string;
  is_paused: boolean;
  is_active: boolean;
  owners: string[];
  tags: Array<{ name: string }>;
  schedule_interval: { __type: 'CronExpression'; value: string } | null;
  timetable_description: string;
  catchup: boolean;
  start_date: Iso;
  max_active_runs: number;
  max_active_tasks: number;
  last_parsed_time: Iso;
  next_dagrun: Iso;
  next_dagrun_create_after: Iso;
  params: unknown;
}

export function apiDag(d: DagDoc): ApiDag {
  let timetable = '';
  try {
    timetable = describeSchedule(d.schedule);
  } catch {
    timetable = d.schedule ?? 'Never, external triggers only';
  }
  return {
    dag_id: d.dag_id,
    description: d.description,
    fileloc: d.fileloc,
    is_paused: d.is_paused,
    is_active: d.is_active,
    owners: d.owners,
    tags: d.tags.map((name) => ({ name })),
    schedule_interval: d.schedule ? { __type: 'CronExpression', value: d.schedule } : null,
    timetable_description: timetable,
    catchup: d.catchup,
    start_date: iso(d.start_date),
    max_active_runs: d.max_active_runs,
    max_active_tasks: d.max_active_tasks,
    last_parsed_time: iso(d.last_parsed_time),
    next_dagrun: iso(d.next_dagrun),
    next_dagrun_create_after: iso(d.next_dagrun_create_after),
    params: parseJson(d.params, {}),
  };
}

export interface ApiTask {
  task_id: string;
  operator_name: string;
  class_ref: { class_name: string; module_path: null };
  downstream_task_ids: string[];
  upstream_task_ids: string[];
  trigger_rule: string;
  retries: number;
  template_fields: string[];
  location: string;
}

export function apiTask(t: DagTaskSummary): ApiTask {
  return {
    task_id: t.task_id,
    operator_name: t.operator,
    class_ref: { class_name: t.operator, module_path: null },
    downstream_task_ids: t.downstream_task_ids,
    upstream_task_ids: t.upstream_task_ids,
    trigger_rule: t.trigger_rule,
    retries: t.retries,
    template_fields: t.template_fields,
    location: t.location,
  };
}

export interface ApiDagRun {
  dag_run_id: string;
  dag_id: string;
  logical_date: Iso;
  execution_date: Iso;
  data_interval_start: Iso;
  data_interval_end: Iso;
  start_date: Iso;
  end_date: Iso;
  queued_at: Iso;
  run_type: string;
  state: string;
  external_trigger: boolean;
  conf: unknown;
  note: string | null;
  clear_number: number;
  updated_at: Iso;
  /** Version of the DAG the run started with (deferflow; Airflow 3 has dag_versions). */
  dag_version: string | null;
  /** Why no scheduler can load the run's DAG, while that is so (deferflow). */
  dag_load_error: string | null;
}

export function apiDagRun(r: DagRunDoc): ApiDagRun {
  return {
    dag_run_id: r.run_id,
    dag_id: r.dag_id,
    logical_date: iso(r.logical_date),
    execution_date: iso(r.logical_date),
    data_interval_start: iso(r.data_interval_start),
    data_interval_end: iso(r.data_interval_end),
    start_date: iso(r.start_date),
    end_date: iso(r.end_date),
    queued_at: iso(r.queued_at),
    run_type: r.run_type,
    state: r.state,
    external_trigger: r.external_trigger,
    conf: parseJson(r.conf, {}),
    note: r.note,
    clear_number: r.clear_number,
    updated_at: iso(r.updated_at),
    dag_version: r.dag_version ?? null,
    dag_load_error: r.dag_load_error ?? null,
  };
}

export interface ApiTrigger {
  id: string;
  classpath: string;
  kind: string;
  kwargs: unknown;
  description: string | null;
  created_date: Iso;
  deadline: Iso;
  triggerer_id: string | null;
  claimed_at: Iso;
  task_instance: { dag_id: string; dag_run_id: string; task_id: string };
}

export function apiTrigger(t: TriggerDoc): ApiTrigger {
  return {
    id: t._id,
    classpath: t.kind,
    kind: t.kind,
    kwargs: parseJson(t.kwargs, {}),
    description: t.description,
    created_date: iso(t.created_at),
    deadline: iso(t.deadline),
    triggerer_id: t.triggerer_id,
    claimed_at: iso(t.claimed_at),
    task_instance: { dag_id: t.dag_id, dag_run_id: t.run_id, task_id: t.task_id },
  };
}

export interface ApiJob {
  id: string;
  job_type: string;
  hostname: string;
  state: string;
  start_date: Iso;
  latest_heartbeat: Iso;
}

export function apiJob(j: JobDoc): ApiJob {
  return { id: j._id, job_type: j.job_type, hostname: j.hostname, state: j.state, start_date: iso(j.start_date), latest_heartbeat: iso(j.latest_heartbeat) };
}

export interface ApiTaskInstance {
  task_id: string;
  dag_id: string;
  dag_run_id: string;
  map_index: number;
  execution_date: Iso;
  logical_date: Iso;
  start_date: Iso;
  end_date: Iso;
  duration: number | null;
  state: string | null;
  try_number: number;
  max_tries: number;
  hostname: string | null;
  pid: number | null;
  pool: string;
  queue: string;
  priority_weight: number;
  operator: string;
  queued_when: Iso;
  note: null;
  rendered_fields: unknown;
  trigger: ApiTrigger | null;
  triggerer_job: ApiJob | null;
  next_method: string | null;
  deferred_at: Iso;
  resumed_at: Iso;
  trigger_timeout: Iso;
  running_ms: number;
  deferred_ms: number;
  last_error: string | null;
  version: number;
  updated_at: Iso;
}

export function apiTaskInstance(ti: TaskInstanceDoc, trigger?: TriggerDoc | null, triggerer?: JobDoc | null): ApiTaskInstance {
  return {
    task_id: ti.task_id,
    dag_id: ti.dag_id,
    dag_run_id: ti.run_id,
    map_index: ti.map_index,
    execution_date: iso(ti.logical_date),
    logical_date: iso(ti.logical_date),
    start_date: iso(ti.start_date),
    end_date: iso(ti.end_date),
    duration: ti.duration,
    state: ti.state,
    try_number: ti.try_number,
    max_tries: ti.max_tries,
    hostname: ti.hostname,
    pid: ti.pid,
    pool: 'default_pool',
    queue: ti.queue,
    priority_weight: ti.priority_weight,
    operator: ti.operator,
    queued_when: iso(ti.queued_dttm),
    note: null,
    rendered_fields: parseJson(ti.rendered_fields, {}),
    trigger: trigger ? apiTrigger(trigger) : null,
    triggerer_job: triggerer ? apiJob(triggerer) : null,
    next_method: ti.next_method,
    deferred_at: iso(ti.deferred_at),
    resumed_at: iso(ti.resumed_at),
    trigger_timeout: iso(ti.trigger_timeout),
    running_ms: ti.running_ms,
    deferred_ms: ti.deferred_ms,
    last_error: ti.last_error,
    version: ti.version,
    updated_at: iso(ti.updated_at),
  };
}

/** Airflow's TaskInstanceReference (returned by clear / set-state). */
export function tiReference(ti: TaskInstanceDoc): { task_id: string; dag_id: string; dag_run_id: string; execution_date: Iso } {
  return { task_id: ti.task_id, dag_id: ti.dag_id, dag_run_id: ti.run_id, execution_date: iso(ti.logical_date) };
}

export function apiXCom(x: XComDoc, withValue: boolean): Record<string, unknown> {
  const base = {
    key: x.key,
    timestamp: iso(x.timestamp),
    execution_date: null,
    map_index: x.map_index,
    task_id: x.task_id,
    dag_id: x.dag_id,
    dag_run_id: x.run_id,
  };
  return withValue ? { ...base, value: parseJson(x.value) } : base;
}

export function apiVariable(v: VariableDoc): { key: string; value: string; description: string | null } {
  return { key: v.key, value: v.val, description: v.description };
}

export function apiImportError(e: ImportErrorDoc): { import_error_id: string; filename: string; stack_trace: string; timestamp: Iso } {
  return { import_error_id: e._id, filename: e.filename, stack_trace: e.stacktrace, timestamp: iso(e.timestamp) };
}
