/**
 * What the API returns, as zod schemas registered as OpenAPI components, in Airflow's stable REST
 * API v1 shapes (field names, types and nullability as Airflow 2's API and its Python client
 * `apache-airflow-client` type them), with deferflow's additions beside Airflow's fields, never
 * instead of them. Where deferflow's ids are not Airflow's integers (triggers and jobs have UUIDs),
 * the integer field holds a stable number derived from the UUID and the UUID is given beside it.
 * The serializers (serializers.ts) are typed by these schemas.
 */
import { z } from 'zod';
import { resource } from './registry.ts';

const iso = z.string().nullable().describe('ISO 8601 date-time, UTC');
const isoRequired = z.string().describe('ISO 8601 date-time, UTC');
const json = z.unknown().describe('Any JSON value');

export const ProblemSchema = resource(
  'Error',
  z.object({
    type: z.string().describe('Stable URI naming the error (branch on this, not on the text)'),
    title: z.string(),
    status: z.number(),
    detail: z.string().describe('What went wrong and what to fix'),
    instance: z.string().optional(),
    issues: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('Each bad field of a 400'),
    hint: z.string().optional(),
  }),
  'RFC 7807 problem document (application/problem+json)',
);

export const TagSchema = resource('Tag', z.object({ name: z.string() }));
export const CronExpressionSchema = resource(
  'CronExpression',
  z.object({ __type: z.literal('CronExpression'), value: z.string() }),
  'A cron expression or preset (@daily, …); null when the DAG has no schedule',
);

export const DagSchema = resource(
  'DAG',
  z.object({
    dag_id: z.string(),
    dag_display_name: z.string(),
    root_dag_id: z.null(),
    is_paused: z.boolean(),
    is_active: z.boolean(),
    is_subdag: z.boolean(),
    last_parsed_time: iso,
    last_pickled: z.null(),
    last_expired: z.null(),
    scheduler_lock: z.null(),
    pickle_id: z.null(),
    default_view: z.string(),
    fileloc: z.string(),
    file_token: z.string().describe('Opaque token for GET /dagSources/{file_token}'),
    owners: z.array(z.string()),
    description: z.string().nullable(),
    schedule_interval: CronExpressionSchema.nullable(),
    timetable_description: z.string().nullable(),
    tags: z.array(TagSchema),
    max_active_tasks: z.number().int(),
    max_active_runs: z.number().int(),
    max_consecutive_failed_dag_runs: z.number().int(),
    has_task_concurrency_limits: z.boolean(),
    has_import_errors: z.boolean(),
    next_dagrun: iso,
    next_dagrun_data_interval_start: iso,
    next_dagrun_data_interval_end: iso,
    next_dagrun_create_after: iso,
    // deferflow
    catchup: z.boolean(),
    start_date: iso,
    params: json.describe("The DAG's params: name → default (Airflow's serialized Param objects are kept as they are)"),
  }),
);

export const DagDetailSchema = resource(
  'DAGDetail',
  DagSchema.extend({
    timezone: z.string(),
    concurrency: z.number(),
    end_date: iso,
    is_paused_upon_creation: z.boolean().nullable(),
    last_parsed: iso,
    dag_run_timeout: z.null(),
    dataset_expression: z.null(),
    doc_md: z.string().nullable(),
    orientation: z.string(),
    render_template_as_native_obj: z.boolean(),
    template_search_path: z.null(),
    params: z.record(z.string(), json).describe("The DAG's params as Airflow serializes them: name → {__class, value, description, schema}"),
    // deferflow
    version: z.string().nullable().describe('The DAG version recorded by the DAG processor'),
    tasks: z.number().int().describe('How many tasks the DAG has'),
  }),
);

export const DagCollectionSchema = resource('DAGCollection', z.object({ dags: z.array(DagSchema), total_entries: z.number().int() }));

export const TaskSchema = resource(
  'Task',
  z.object({
    task_id: z.string(),
    task_display_name: z.string(),
    owner: z.string(),
    operator_name: z.string(),
    class_ref: z.object({ class_name: z.string(), module_path: z.string() }),
    downstream_task_ids: z.array(z.string()),
    upstream_task_ids: z.array(z.string()).describe('deferflow'),
    trigger_rule: z.string(),
    retries: z.number(),
    template_fields: z.array(z.string()),
    is_mapped: z.boolean(),
    depends_on_past: z.boolean(),
    wait_for_downstream: z.boolean(),
    pool: z.string(),
    pool_slots: z.number(),
    queue: z.string().nullable(),
    priority_weight: z.number(),
    extra_links: z.array(z.object({ class_ref: z.object({ class_name: z.string(), module_path: z.string() }) })),
    location: z.string().describe('deferflow: file:line where the task is defined'),
  }),
);
export const TaskCollectionSchema = resource('TaskCollection', z.object({ tasks: z.array(TaskSchema), total_entries: z.number().int() }));

export const DagRunSchema = resource(
  'DAGRun',
  z.object({
    dag_run_id: z.string(),
    dag_id: z.string(),
    logical_date: iso,
    execution_date: iso,
    data_interval_start: iso,
    data_interval_end: iso,
    start_date: iso,
    end_date: iso,
    queued_at: iso,
    last_scheduling_decision: iso,
    run_type: z.enum(['scheduled', 'manual', 'backfill']),
    state: z.enum(['queued', 'running', 'success', 'failed']),
    external_trigger: z.boolean(),
    conf: z.record(z.string(), json),
    note: z.string().nullable(),
    // deferflow
    clear_number: z.number().int(),
    updated_at: iso,
    dag_version: z.string().nullable().describe('Version of the DAG the run started with'),
    dag_load_error: z.string().nullable().describe('Why no scheduler can load the run’s DAG, while that is so'),
  }),
);
export const DagRunCollectionSchema = resource('DAGRunCollection', z.object({ dag_runs: z.array(DagRunSchema), total_entries: z.number().int() }));

export const TriggerSchema = resource(
  'Trigger',
  z.object({
    id: z.number().int().describe('A stable number derived from the trigger’s UUID (Airflow’s ids are integers); the UUID is trigger_id'),
    classpath: z.string(),
    kwargs: z.string().describe('The trigger’s arguments as JSON text'),
    created_date: isoRequired,
    triggerer_id: z.number().int().nullable().describe('Number derived from the owning triggerer’s job UUID (triggerer_job_id)'),
    // deferflow
    trigger_id: z.string().describe('The trigger’s id'),
    kind: z.string(),
    description: z.string().nullable().describe('What it waits on (job name, datetime, pattern)'),
    deadline: iso,
    triggerer_job_id: z.string().nullable(),
    claimed_at: iso,
    last_status: z.string().nullable().describe('The watched job’s last known status (e.g. SageMaker’s TrainingJobStatus)'),
    last_secondary_status: z.string().nullable(),
    last_seen_at: iso.describe('When that status was last seen (event or sweep)'),
    task_instance: z.object({ dag_id: z.string(), dag_run_id: z.string(), task_id: z.string() }),
  }),
);
export const TriggerCollectionSchema = resource('TriggerCollection', z.object({ triggers: z.array(TriggerSchema), total_entries: z.number().int() }));

export const JobSchema = resource(
  'Job',
  z.object({
    id: z.number().int().describe('A stable number derived from the job’s UUID; the UUID is job_id'),
    dag_id: z.null(),
    state: z.string().nullable(),
    job_type: z.string().nullable(),
    start_date: iso,
    end_date: iso,
    latest_heartbeat: iso,
    executor_class: z.null(),
    hostname: z.string().nullable(),
    unixname: z.null(),
    // deferflow
    job_id: z.string(),
    pid: z.number().int(),
  }),
);

export const DeferralWindowSchema = resource(
  'DeferralWindow',
  z.object({
    from: isoRequired,
    to: iso.describe('When it was resumed (or the try ended); null while still deferred'),
    trigger_id: z.string().nullable(),
    trigger_kind: z.string().nullable(),
    waited_on: z.string().nullable().describe('What it waited on (job name, datetime, pattern)'),
    resumed_by: z.enum(['event', 'trigger_timeout', 'execution_timeout', 'trigger_failure']).nullable(),
  }),
  'A span of a try during which the task was deferred, holding no worker slot',
);

const TASK_STATES = [
  'scheduled',
  'queued',
  'running',
  'success',
  'failed',
  'up_for_retry',
  'up_for_reschedule',
  'upstream_failed',
  'skipped',
  'removed',
  'deferred',
  'restarting',
  'shutdown',
] as const;

const taskInstanceFields = {
  task_id: z.string(),
  task_display_name: z.string(),
  dag_id: z.string(),
  dag_run_id: z.string(),
  map_index: z.number().int(),
  rendered_map_index: z.null(),
  execution_date: isoRequired,
  logical_date: isoRequired,
  start_date: iso,
  end_date: iso,
  duration: z.number().nullable(),
  state: z.enum(TASK_STATES).nullable(),
  try_number: z.number().int(),
  max_tries: z.number().int(),
  hostname: z.string().describe('Empty until a worker ran the task'),
  unixname: z.string(),
  pid: z.number().int().nullable(),
  pool: z.string(),
  pool_slots: z.number().int(),
  queue: z.string().nullable(),
  priority_weight: z.number().int().nullable(),
  operator: z.string().nullable(),
  queued_when: iso,
  executor: z.null(),
  executor_config: z.string(),
  note: z.string().nullable(),
  // deferflow
  try_queued_at: iso.describe('When this try was first queued (queued_when is the latest queueing, e.g. after a resume)'),
  deferrals: z.array(DeferralWindowSchema).describe('Where in this try it waited deferred'),
};

export const TaskInstanceSchema = resource(
  'TaskInstance',
  z.object({
    ...taskInstanceFields,
    rendered_fields: z.record(z.string(), json),
    trigger: TriggerSchema.nullable(),
    triggerer_job: JobSchema.nullable(),
    // deferflow
    next_method: z.string().nullable(),
    deferred_at: iso,
    resumed_at: iso,
    trigger_timeout: iso,
    running_ms: z.number().describe('Milliseconds spent holding a worker slot'),
    deferred_ms: z.number().describe('Milliseconds spent deferred, holding no slot'),
    last_error: z.string().nullable(),
    version: z.number().int(),
    updated_at: iso,
  }),
);
export const TaskInstanceCollectionSchema = resource(
  'TaskInstanceCollection',
  z.object({ task_instances: z.array(TaskInstanceSchema), total_entries: z.number().int() }),
);

export const TaskInstanceTrySchema = resource(
  'TaskInstanceTry',
  z.object({
    ...taskInstanceFields,
    // deferflow
    last_error: z.string().nullable(),
    ended_by: z.enum(['worker', 'zombie_reaper', 'clear', 'mark']).nullable().describe('What ended the try; null while it is going'),
    current: z.boolean().describe('The task instance’s current try'),
  }),
  'One try of a task instance (Airflow 2.10’s TaskInstanceHistory), with its deferral windows',
);
export const TaskInstanceTryCollectionSchema = resource(
  'TaskInstanceTryCollection',
  z.object({ task_instances: z.array(TaskInstanceTrySchema), total_entries: z.number().int() }),
);

export const TaskInstanceReferenceSchema = resource(
  'TaskInstanceReference',
  z.object({ task_id: z.string(), dag_id: z.string(), dag_run_id: z.string(), execution_date: isoRequired }),
);
export const TaskInstanceReferenceCollectionSchema = resource(
  'TaskInstanceReferenceCollection',
  z.object({ task_instances: z.array(TaskInstanceReferenceSchema) }),
);

export const ClearedTaskInstancesSchema = resource(
  'ClearedTaskInstances',
  z.object({ task_instances: z.array(TaskInstanceSchema), total_entries: z.number().int() }),
  'A dry-run clear of a DAG run: the task instances it would clear',
);

const xcomFields = {
  key: z.string(),
  timestamp: isoRequired,
  execution_date: isoRequired,
  map_index: z.number().int(),
  task_id: z.string(),
  dag_id: z.string(),
  dag_run_id: z.string(),
};
export const XComCollectionItemSchema = resource('XComCollectionItem', z.object(xcomFields));
export const XComSchema = resource('XCom', z.object({ ...xcomFields, value: json }));
export const XComCollectionSchema = resource('XComCollection', z.object({ xcom_entries: z.array(XComCollectionItemSchema), total_entries: z.number().int() }));

export const VariableCollectionItemSchema = resource(
  'VariableCollectionItem',
  z.object({ key: z.string(), description: z.string().nullable() }),
  'A variable in a list: without its value (values may be secrets; read one variable to get it), as in Airflow',
);
export const VariableSchema = resource('Variable', z.object({ key: z.string(), value: z.string(), description: z.string().nullable() }));
export const VariableCollectionSchema = resource(
  'VariableCollection',
  z.object({ variables: z.array(VariableCollectionItemSchema), total_entries: z.number().int() }),
);

const connectionItemFields = {
  connection_id: z.string(),
  conn_type: z.string(),
  description: z.string().nullable(),
  host: z.string().nullable(),
  login: z.string().nullable(),
  schema: z.string().nullable(),
  port: z.number().int().nullable(),
};
export const ConnectionCollectionItemSchema = resource(
  'ConnectionCollectionItem',
  z.object({ ...connectionItemFields, has_password: z.boolean().describe('deferflow: whether a password is set (it is never returned)') }),
);
export const ConnectionSchema = resource(
  'Connection',
  z.object({
    ...connectionItemFields,
    extra: z.string().nullable().describe('The extra JSON, values under sensitive keys masked as ***'),
    has_password: z.boolean().describe('deferflow: whether a password is set (it is never returned)'),
  }),
  'A connection; the password is write-only and never returned',
);
export const ConnectionCollectionSchema = resource(
  'ConnectionCollection',
  z.object({ connections: z.array(ConnectionCollectionItemSchema), total_entries: z.number().int() }),
);
export const ImportResultSchema = resource(
  'ImportResult',
  z.object({ created: z.array(z.string()), updated: z.array(z.string()), skipped: z.array(z.string()) }),
  'deferflow: what an import created, overwrote and left alone',
);

export const ImportErrorSchema = resource(
  'ImportError',
  z.object({
    import_error_id: z.number().int().describe('A stable number derived from the file name'),
    filename: z.string(),
    stack_trace: z.string(),
    timestamp: isoRequired,
  }),
);
export const ImportErrorCollectionSchema = resource(
  'ImportErrorCollection',
  z.object({ import_errors: z.array(ImportErrorSchema), total_entries: z.number().int() }),
);

export const EventLogSchema = resource(
  'EventLog',
  z.object({
    event_log_id: z.number().int(),
    when: isoRequired,
    dag_id: z.string().nullable(),
    task_id: z.string().nullable(),
    run_id: z.string().nullable(),
    map_index: z.number().int().nullable(),
    try_number: z.number().int().nullable(),
    event: z.string(),
    execution_date: iso,
    owner: z.string().nullable(),
    extra: z.string().nullable().describe('JSON: where it came from (source) and the details; never secrets'),
  }),
);
export const EventLogCollectionSchema = resource('EventLogCollection', z.object({ event_logs: z.array(EventLogSchema), total_entries: z.number().int() }));

export const VersionInfoSchema = resource('VersionInfo', z.object({ version: z.string(), git_version: z.string().nullable() }));

const healthStatus = z.enum(['healthy', 'unhealthy']).nullable();
export const HealthInfoSchema = resource(
  'HealthInfo',
  z.object({
    metadatabase: z.object({ status: healthStatus }),
    scheduler: z.object({ status: healthStatus, latest_scheduler_heartbeat: iso }),
    triggerer: z.object({ status: healthStatus, latest_triggerer_heartbeat: iso }),
    dag_processor: z.object({ status: healthStatus, latest_dag_processor_heartbeat: iso }),
    worker: z.object({ status: healthStatus, latest_worker_heartbeat: iso }).describe('deferflow'),
  }),
);

export const DagSourceSchema = resource('DAGSource', z.object({ content: z.string() }), 'The source of a DAG file');

export const DagStatsSchema = resource(
  'DagStatsCollection',
  z.object({
    dags: z.array(z.object({ dag_id: z.string(), stats: z.array(z.object({ state: z.string(), count: z.number().int() })) })),
    total_entries: z.number().int(),
  }),
);

export const LogContentSchema = resource(
  'TaskLog',
  z.object({
    content: z.string(),
    continuation_token: z.string().describe('Pass back as `token` to get only the lines written since'),
    // deferflow
    lines: z.array(z.object({ seq: z.number().int(), ts: isoRequired, level: z.string(), msg: z.string() })),
    live: z.boolean().describe('True while more lines may still come (the try is running or deferred)'),
  }),
);

export const DeferralSchema = resource(
  'Deferral',
  z.object({
    dag_id: z.string(),
    dag_run_id: z.string(),
    task_id: z.string(),
    map_index: z.number().int(),
    try_number: z.number().int(),
    trigger_id: z.string().nullable(),
    trigger_kind: z.string().nullable(),
    external_job: z.string().nullable(),
    status: z.string().describe('The job’s last known status, else what the deferral waits for'),
    job_status: z.string().nullable().describe('The watched job’s last known status (e.g. SageMaker’s TrainingJobStatus), when a triggerer saw one'),
    job_secondary_status: z.string().nullable(),
    job_status_seen_at: iso,
    deferred_at: iso,
    deferred_for_ms: z.number().nullable(),
    deadline: iso,
    triggerer: z
      .object({ id: z.string(), hostname: z.string().nullable(), pid: z.number().int().nullable(), alive: z.boolean(), latest_heartbeat: iso })
      .nullable(),
    next_method: z.string().nullable(),
  }),
  'A deferred task instance and what it waits on',
);
export const DeferralTotalsSchema = resource(
  'DeferralTotals',
  z.object({
    deferred_now: z.number().int(),
    oldest_deferral_ms: z.number().nullable(),
    unclaimed_triggers: z.number().int(),
    worker_slot_seconds_saved: z.number(),
    worker_slot_seconds_saved_finished: z.number(),
    event_to_resume_latency_ms: z.object({
      p50: z.number().nullable(),
      p99: z.number().nullable(),
      count: z.number(),
      source: z.string().nullable().describe('Where the figures come from'),
      since: iso.describe('Since when the figures count (the oldest process reading they are summed from)'),
    }),
    lost_events_recovered_by_sweep: z.number().nullable(),
    events: z
      .object({ received: z.number(), resumed: z.number(), duplicate: z.number(), not_ours: z.number(), malformed: z.number() })
      .describe('Events counted by the triggerers, by outcome'),
    live_triggerers: z.number().int(),
  }),
);
export const DeferralCollectionSchema = resource(
  'DeferralCollection',
  z.object({ deferrals: z.array(DeferralSchema), total_entries: z.number().int(), totals: DeferralTotalsSchema }),
);

export type ApiDag = z.output<typeof DagSchema>;
export type ApiDagDetail = z.output<typeof DagDetailSchema>;
export type ApiTask = z.output<typeof TaskSchema>;
export type ApiDagRun = z.output<typeof DagRunSchema>;
export type ApiTrigger = z.output<typeof TriggerSchema>;
export type ApiJob = z.output<typeof JobSchema>;
export type ApiDeferralWindow = z.output<typeof DeferralWindowSchema>;
export type ApiTaskInstance = z.output<typeof TaskInstanceSchema>;
export type ApiTaskInstanceTry = z.output<typeof TaskInstanceTrySchema>;
export type ApiTaskInstanceReference = z.output<typeof TaskInstanceReferenceSchema>;
export type ApiXCom = z.output<typeof XComSchema>;
export type ApiVariable = z.output<typeof VariableSchema>;
export type ApiConnection = z.output<typeof ConnectionSchema>;
export type ApiImportError = z.output<typeof ImportErrorSchema>;
export type ApiEventLog = z.output<typeof EventLogSchema>;
export type ApiDeferral = z.output<typeof DeferralSchema>;
export type DeferralTotals = z.output<typeof DeferralTotalsSchema>;
