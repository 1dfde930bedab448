/**
 * Documents → API resources, in Airflow's stable-API shapes (snake_case, ISO dates, `dag_run_id`),
 * typed by the response schemas of schemas/resources.ts. Extra deferflow fields (deferral
 * accounting, trigger, history) are added next to Airflow's, never instead.
 */
import { createHash } from 'node:crypto';
import type {
  DagDoc,
  DagRunDoc,
  DagTaskSummary,
  EventLogDoc,
  ImportErrorDoc,
  JobDoc,
  TaskInstanceDoc,
  TriggerDoc,
  TryDeferralWindow,
  VariableDoc,
  XComDoc,
} from '../store/schema.ts';
import { currentTryWindows, triesOf, tryQueuedAt, type TryView } from '../store/task-instance-history.ts';
import { describeSchedule } from '../dag/timetable.ts';
import type {
  ApiDag,
  ApiDagDetail,
  ApiDagRun,
  ApiDeferralWindow,
  ApiEventLog,
  ApiImportError,
  ApiJob,
  ApiTask,
  ApiTaskInstance,
  ApiTaskInstanceReference,
  ApiTaskInstanceTry,
  ApiTrigger,
  ApiVariable,
  ApiXCom,
} from './schemas/resources.ts';
import { parseJsonObject } from '../util/json-object.ts';

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
/**
 * A stable integer for an id Airflow's clients type as an integer while ours is a UUID or a name:
 * the first 48 bits of its hex digits (UUIDs) or of its SHA-256 (anything else).
 */
export function numericId(id: string): number {
  const hex = /^[0-9a-f-]{32,36}$/i.test(id) ? id.replace(/-/g, '') : createHash('sha256').update(id).digest('hex');
  return Number.parseInt(hex.slice(0, 12), 16);
}

/** The DAG file's token for GET /dagSources/{file_token}: its path, base64url (opaque to clients, as in Airflow). */
export function fileToken(fileloc: string): string {
  return Buffer.from(fileloc, 'utf8').toString('base64url');
}

export function filelocOfToken(token: string): string | null {
  try {
    const path = Buffer.from(token, 'base64url').toString('utf8');
    return path && fileToken(path) === token ? path : null;
  } catch {
    return null;
  }
}

export function apiDag(d: DagDoc, hasImportErrors = false): ApiDag {
  let timetable = '';
  try {
    timetable = describeSchedule(d.schedule);
  } catch {
    timetable = d.schedule ?? 'Never, external triggers only';
  }
  return {
    dag_id: d.dag_id,
    dag_display_name: d.dag_id,
    root_dag_id: null,
    is_paused: d.is_paused,
    is_active: d.is_active,
    is_subdag: false,
    last_parsed_time: iso(d.last_parsed_time),
    last_pickled: null,
    last_expired: null,
    scheduler_lock: null,
    pickle_id: null,
    default_view: 'grid',
    fileloc: d.fileloc,
    file_token: fileToken(d.fileloc),
    owners: d.owners,
    description: d.description,
    schedule_interval: d.schedule ? { __type: 'CronExpression', value: d.schedule } : null,
    timetable_description: timetable,
    tags: d.tags.map((name) => ({ name })),
    max_active_tasks: d.max_active_tasks,
    max_active_runs: d.max_active_runs,
    max_consecutive_failed_dag_runs: 0,
    has_task_concurrency_limits: false,
    has_import_errors: hasImportErrors,
    next_dagrun: iso(d.next_dagrun),
    next_dagrun_data_interval_start: null,
    next_dagrun_data_interval_end: null,
    next_dagrun_create_after: iso(d.next_dagrun_create_after),
    catchup: d.catchup,
    start_date: iso(d.start_date),
    params: parseJson(d.params, {}),
  };
}

const PARAM_CLASS = 'airflow.models.param.Param';

/** Params as Airflow's DAGDetail gives them: each a serialized Param (kept as is when it already is one). */
export function airflowParams(paramsJson: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(parseJsonObject(paramsJson))) {
    const isParam = v && typeof v === 'object' && (v as { __class?: unknown }).__class === PARAM_CLASS;
    out[name] = isParam ? v : { __class: PARAM_CLASS, value: v, description: null, schema: {} };
  }
  return out;
}

export function apiDagDetail(d: DagDoc, hasImportErrors: boolean): ApiDagDetail {
  return {
    ...apiDag(d, hasImportErrors),
    timezone: 'UTC',
    concurrency: d.max_active_tasks,
    end_date: iso(d.end_date),
    is_paused_upon_creation: null,
    last_parsed: iso(d.last_parsed_time),
    dag_run_timeout: null,
    dataset_expression: null,
    doc_md: null,
    orientation: 'LR',
    render_template_as_native_obj: false,
    template_search_path: null,
    params: airflowParams(d.params),
    version: d.version ?? null,
    tasks: d.tasks.length,
  };
}

export function apiTask(t: DagTaskSummary, owner: string): ApiTask {
  return {
    task_id: t.task_id,
    task_display_name: t.task_id,
    owner,
    operator_name: t.operator,
    class_ref: { class_name: t.operator, module_path: 'deferflow' },
    downstream_task_ids: t.downstream_task_ids,
    upstream_task_ids: t.upstream_task_ids,
    trigger_rule: t.trigger_rule,
    retries: t.retries,
    template_fields: t.template_fields,
    is_mapped: false,
    depends_on_past: false,
    wait_for_downstream: false,
    pool: 'default_pool',
    pool_slots: 1,
    queue: null,
    priority_weight: 1,
    extra_links: [],
    location: t.location,
  };
}

export function apiDagRun(r: DagRunDoc): ApiDagRun {
  const conf = parseJson(r.conf, {});
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
    last_scheduling_decision: null,
    run_type: r.run_type,
    state: r.state,
    external_trigger: r.external_trigger,
    conf: conf && typeof conf === 'object' && !Array.isArray(conf) ? (conf as Record<string, unknown>) : {},
    note: r.note,
    clear_number: r.clear_number,
    updated_at: iso(r.updated_at),
    dag_version: r.dag_version ?? null,
    dag_load_error: r.dag_load_error ?? null,
  };
}

/** Status fields a triggerer may record on a trigger row (the SageMaker job's last known status). */
export type TriggerWithStatus = TriggerDoc & {
  last_status?: string | null;
  last_secondary_status?: string | null;
  last_seen_at?: Date | null;
};

export function apiTrigger(t: TriggerWithStatus): ApiTrigger {
  return {
    id: numericId(t._id),
    classpath: t.kind,
    kwargs: t.kwargs,
    created_date: t.created_at.toISOString(),
    triggerer_id: t.triggerer_id ? numericId(t.triggerer_id) : null,
    trigger_id: t._id,
    kind: t.kind,
    description: t.description,
    deadline: iso(t.deadline),
    triggerer_job_id: t.triggerer_id,
    claimed_at: iso(t.claimed_at),
    last_status: t.last_status ?? null,
    last_secondary_status: t.last_secondary_status ?? null,
    last_seen_at: iso(t.last_seen_at ?? null),
    task_instance: { dag_id: t.dag_id, dag_run_id: t.run_id, task_id: t.task_id },
  };
}

export function apiJob(j: JobDoc): ApiJob {
  return {
    id: numericId(j._id),
    dag_id: null,
    state: j.state,
    job_type: j.job_type,
    start_date: iso(j.start_date),
    end_date: iso(j.end_date),
    latest_heartbeat: iso(j.latest_heartbeat),
    executor_class: null,
    hostname: j.hostname,
    unixname: null,
    job_id: j._id,
    pid: j.pid,
  };
}

export function apiDeferralWindow(w: TryDeferralWindow): ApiDeferralWindow {
  return {
    from: w.from.toISOString(),
    to: iso(w.to),
    trigger_id: w.trigger?.id ?? null,
    trigger_kind: w.trigger?.kind ?? null,
    waited_on: w.trigger?.description ?? null,
    resumed_by: w.resumed_by,
  };
}

/** The deferral windows of the row's current try: the recorded try once it ended, else the live ones. */
function currentWindows(ti: TaskInstanceDoc): TryDeferralWindow[] {
  const recorded = ti.tries?.find((t) => t.try_number === ti.try_number);
  if (recorded && ti.next_method == null) return recorded.deferrals;
  return currentTryWindows(ti);
}

/** What names a task instance in Airflow's shape: a task instance and each of its tries carry the same. */
function tiIdentity(ti: TaskInstanceDoc) {
  return {
    task_id: ti.task_id,
    task_display_name: ti.task_id,
    dag_id: ti.dag_id,
    dag_run_id: ti.run_id,
    map_index: ti.map_index,
    rendered_map_index: null,
    execution_date: ti.logical_date.toISOString(),
    logical_date: ti.logical_date.toISOString(),
  };
}

export function apiTaskInstance(ti: TaskInstanceDoc, trigger?: TriggerWithStatus | null, triggerer?: JobDoc | null): ApiTaskInstance {
  const recorded = ti.tries?.find((t) => t.try_number === ti.try_number);
  return {
    ...tiIdentity(ti),
    start_date: iso(ti.start_date),
    end_date: iso(ti.end_date),
    duration: ti.duration,
    state: ti.state,
    try_number: ti.try_number,
    max_tries: ti.max_tries,
    hostname: ti.hostname ?? '',
    unixname: '',
    pid: ti.pid,
    pool: 'default_pool',
    pool_slots: 1,
    queue: ti.queue,
    priority_weight: ti.priority_weight,
    operator: ti.operator,
    queued_when: iso(ti.queued_dttm),
    executor: null,
    executor_config: '{}',
    note: ti.note ?? null,
    try_queued_at: iso(recorded && ti.next_method == null ? recorded.queued_at : ti.try_number > 0 ? tryQueuedAt(ti) : null),
    deferrals: currentWindows(ti).map(apiDeferralWindow),
    rendered_fields: parseJsonObject(ti.rendered_fields),
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

export function apiTaskInstanceTry(ti: TaskInstanceDoc, t: TryView): ApiTaskInstanceTry {
  return {
    ...tiIdentity(ti),
    start_date: iso(t.start_date),
    end_date: iso(t.end_date),
    duration: t.duration,
    state: t.state,
    try_number: t.try_number,
    max_tries: t.max_tries,
    hostname: t.hostname ?? '',
    unixname: '',
    pid: t.pid,
    pool: 'default_pool',
    pool_slots: 1,
    queue: ti.queue,
    priority_weight: ti.priority_weight,
    operator: t.operator,
    queued_when: iso(t.current ? ti.queued_dttm : t.queued_at),
    executor: null,
    executor_config: '{}',
    note: t.current ? (ti.note ?? null) : null,
    try_queued_at: iso(t.queued_at),
    deferrals: t.deferrals.map(apiDeferralWindow),
    last_error: t.last_error,
    ended_by: t.current && !(ti.tries ?? []).some((r) => r.try_number === t.try_number) ? null : t.ended_by,
    current: t.current,
  };
}

export function apiTaskInstanceTries(ti: TaskInstanceDoc): ApiTaskInstanceTry[] {
  return triesOf(ti).map((t) => apiTaskInstanceTry(ti, t));
}

/** Airflow's TaskInstanceReference (returned by clear / set-state). */
export function tiReference(ti: TaskInstanceDoc): ApiTaskInstanceReference {
  return { task_id: ti.task_id, dag_id: ti.dag_id, dag_run_id: ti.run_id, execution_date: ti.logical_date.toISOString() };
}

/** An XCom entry; `logicalDate` is its run's (Airflow's execution_date). */
export function apiXCom(x: XComDoc, logicalDate: Date | null): Omit<ApiXCom, 'value'>;
export function apiXCom(x: XComDoc, logicalDate: Date | null, withValue: true): ApiXCom;
export function apiXCom(x: XComDoc, logicalDate: Date | null, withValue = false): ApiXCom | Omit<ApiXCom, 'value'> {
  const base = {
    key: x.key,
    timestamp: x.timestamp.toISOString(),
    execution_date: (logicalDate ?? x.timestamp).toISOString(),
    map_index: x.map_index,
    task_id: x.task_id,
    dag_id: x.dag_id,
    dag_run_id: x.run_id,
  };
  return withValue ? { ...base, value: parseJson(x.value) } : base;
}

export function apiVariable(v: VariableDoc): ApiVariable {
  return { key: v.key, value: v.val, description: v.description };
}

/** A variable in a list: no value (Airflow leaves it out for sensitivity). */
export function apiVariableItem(v: VariableDoc): { key: string; description: string | null } {
  return { key: v.key, description: v.description };
}

export function apiImportError(e: ImportErrorDoc): ApiImportError {
  return { import_error_id: numericId(e._id), filename: e.filename, stack_trace: e.stacktrace, timestamp: e.timestamp.toISOString() };
}

export function apiEventLog(e: EventLogDoc): ApiEventLog {
  return {
    event_log_id: e._id,
    when: e.dttm.toISOString(),
    dag_id: e.dag_id,
    task_id: e.task_id,
    run_id: e.run_id,
    map_index: e.map_index,
    try_number: e.try_number,
    event: e.event,
    execution_date: iso(e.logical_date),
    owner: e.owner,
    extra: e.extra,
  };
}
