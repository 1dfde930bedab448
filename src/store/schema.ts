/**
 * Document shapes of every collection. MongoDB is the only shared state between processes.
 *
 * Rules (docs/ARCHITECTURE.md, "MongoDB: the feature subset and why"):
 *  - Only what MongoDB ≥ 6 and FerretDB v1 both support: single-document atomic updates, unique
 *    indexes, find/sort/limit, simple aggregation, bulkWrite. No transactions, change streams, TTL.
 *  - Opaque user payloads (XCom values, trigger kwargs, events, run conf, next_kwargs, rendered
 *    fields) are JSON strings: FerretDB rejects keys with '.'/'$' and nested arrays.
 *  - Ids are deterministic strings so concurrent creators collide on the unique _id instead of
 *    creating twins (two schedulers creating the same run's task instances).
 */

export const TASK_INSTANCE_STATES = [
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
/** `null` is Airflow's "none" (not yet scheduled). */
export type TaskInstanceState = (typeof TASK_INSTANCE_STATES)[number] | null;

export const FINISHED_TI_STATES = ['success', 'failed', 'skipped', 'upstream_failed', 'removed'] as const;
export const UNFINISHED_TI_STATES = [null, 'scheduled', 'queued', 'running', 'up_for_retry', 'up_for_reschedule', 'deferred', 'restarting'] as const;

export const DAG_RUN_STATES = ['queued', 'running', 'success', 'failed'] as const;
export type DagRunState = (typeof DAG_RUN_STATES)[number];

export const RUN_TYPES = ['scheduled', 'manual', 'backfill'] as const;
export type RunType = (typeof RUN_TYPES)[number];

export interface DagTaskSummary {
  task_id: string;
  operator: string;
  downstream_task_ids: string[];
  upstream_task_ids: string[];
  trigger_rule: string;
  retries: number;
  template_fields: string[];
  /** Where the task was defined (file:line). */
  location: string;
}

/** One row per DAG seen by a DAG processor; the scheduler, API and UI read DAG metadata here. */
export interface DagDoc {
  _id: string; // dag_id
  dag_id: string;
  fileloc: string;
  description: string | null;
  schedule: string | null;
  start_date: Date | null;
  end_date: Date | null;
  catchup: boolean;
  tags: string[];
  owners: string[];
  params: string; // JSON
  max_active_runs: number;
  max_active_tasks: number;
  is_paused: boolean;
  /** false once the DAG disappeared from the folder. */
  is_active: boolean;
  tasks: DagTaskSummary[];
  last_parsed_time: Date;
  /** Data interval of the latest *scheduled* run created — the timetable's cursor. */
  last_automated_data_interval_start: Date | null;
  last_automated_data_interval_end: Date | null;
  next_dagrun: Date | null;
  next_dagrun_create_after: Date | null;
  /** Current version (see dag_versions); absent on rows written before DAGs were versioned. */
  version?: string | null;
  /** The DAGs folder of the processor that parsed it (Airflow's processor_subdir). */
  processor_subdir?: string | null;
  /** fileloc relative to processor_subdir. */
  relative_fileloc?: string | null;
}

/**
 * One row per version of a DAG (Airflow's dag_version + serialized_dag): what a DAG processor
 * parsed, as JSON (SerializedDagData). Schedulers and workers' claims read DAGs from here without
 * running the DAG file's code; runs name the version they started with.
 */
export interface DagVersionDoc {
  _id: string; // dagVersionId(dag_id, version)
  dag_id: string;
  version: string;
  fileloc: string;
  /** sha256 of the DAG file's content. */
  source_hash: string | null;
  /** SerializedDagData as JSON (task ids may hold '.', which FerretDB refuses in keys). */
  serialized: string;
  created_at: Date;
}

export interface DagRunDoc {
  _id: string; // dagRunId(dag_id, run_id)
  dag_id: string;
  run_id: string;
  run_type: RunType;
  logical_date: Date;
  data_interval_start: Date;
  data_interval_end: Date;
  state: DagRunState;
  queued_at: Date;
  start_date: Date | null;
  end_date: Date | null;
  conf: string; // JSON object
  external_trigger: boolean;
  /** Incremented when the run is cleared. */
  clear_number: number;
  note: string | null;
  updated_at: Date;
  /** Version of the DAG the run started with (set when a scheduler starts it). */
  dag_version?: string | null;
  /**
   * Set while no scheduler can load the run's DAG (never parsed, deleted, deactivated): why, so UI,
   * API and CLI show the run as stuck instead of silently queued. Cleared once it loads again.
   */
  dag_load_error?: string | null;
  dag_load_error_at?: Date | null;
  /** Incremented by every state transition (absent on rows written before it existed: 0). */
  version?: number;
}

export interface TaskInstanceDoc {
  _id: string; // taskInstanceId(dag_id, run_id, task_id)
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number; // -1: not mapped
  logical_date: Date;
  state: TaskInstanceState;
  /** Tries started so far; the running try's number. Unchanged across a deferral. */
  try_number: number;
  /** retries: a try may start while try_number <= max_tries. */
  max_tries: number;
  operator: string;
  queue: string;
  priority_weight: number;
  /** Earliest time the task may be queued again (retry delay / reschedule). */
  scheduled_after: Date | null;
  queued_dttm: Date | null;
  /** First start of the current try (deferral included: execution_timeout counts from here). */
  start_date: Date | null;
  end_date: Date | null;
  duration: number | null; // seconds
  /** Ownership while running: only the holder of lease_token may change the row. */
  worker_id: string | null;
  lease_token: string | null;
  lease_expires_at: Date | null;
  hostname: string | null;
  pid: number | null;
  /** Deferral: trigger, resume method and its kwargs (JSON, includes `event` after resume). */
  trigger_id: string | null;
  next_method: string | null;
  next_kwargs: string | null;
  trigger_timeout: Date | null;
  /** The payload the trigger fired with (JSON); handed to the resume method as `kwargs.event`. */
  trigger_event: string | null;
  /**
   * Why a deferred task was resumed into `__fail__` (set by the same update, null otherwise): the
   * worker fails the try from this typed reason, as Airflow's TriggerFailureReason, instead of
   * guessing it from a message.
   */
  fail_reason: FailReason | null;
  deferred_at: Date | null;
  resumed_at: Date | null;
  /** start_date + execution_timeout, so any process can enforce it (also while deferred). */
  execution_deadline: Date | null;
  /** Accounting: ms spent holding a worker slot / ms spent deferred (slot-seconds saved). */
  running_ms: number;
  deferred_ms: number;
  /** Rendered template fields of the latest try (JSON). */
  rendered_fields: string | null;
  /** Why the last try failed (message), shown in CLI/UI. */
  last_error: string | null;
  /** Incremented by every transition; lets observers order and dedupe changes. */
  version: number;
  updated_at: Date;
  /**
   * Who made the last transition (the scheduler / worker / triggerer job id, or the API process's
   * writer id). A batched write learns which of its rows it won by it, and a scheduler skips
   * re-reading rows its own process already told it about (src/scheduler/change-cursor.ts).
   */
  changed_by?: string | null;
  /** The batched write (TaskInstanceTransitions.applyBatch) that made the last change, if it was one: how a batch tells its wins. */
  change_id?: string | null;
  /** The scheduler that queued the current try (Airflow's queued_by_job_id). */
  queued_by_job_id?: string | null;
  /**
   * Set when queued: the row resumes a deferral (next_method set). Workers claim these first —
   * a resume finishes work already in flight (issue 14.3).
   */
  is_resume?: boolean;
  /** A user's note (Airflow's task instance note); absent on rows that never had one. */
  note?: string | null;
  /**
   * Per-try history (Airflow 2.10's task_instance_history), oldest first: one record per ENDED try,
   * pushed by the very transition that ended it (finish, zombie reap, clear or mark of a try in
   * flight), so keeping it costs no extra round trip. The current try is the row itself.
   */
  tries?: TaskInstanceTryDoc[];
  /** Deferral windows of the current try that closed before its latest one (the latest is deferred_at → resumed_at). */
  try_deferrals?: TryDeferralWindow[];
  /** When the current try was first queued (queued_dttm is overwritten when a resumed task is queued again). */
  try_queued_at?: Date | null;
  /** What the current deferral waits on, written with the deferral (the trigger row is deleted when it fires). */
  deferral_trigger?: DeferralTriggerRef | null;
}

/** The trigger a deferral waited on, as recorded with the task instance. */
export interface DeferralTriggerRef {
  id: string;
  kind: string | null;
  /** Human label of what it waited on (job name, datetime, pattern). */
  description: string | null;
}

/** One deferral of a try: when it began and ended, on what, and what ended it. */
export interface TryDeferralWindow {
  from: Date;
  /** When the trigger resumed the task; for a try ended while still deferred (cleared, marked), when it ended (resumed_by null); null while deferred. */
  to: Date | null;
  trigger: DeferralTriggerRef | null;
  /** What resumed it: an event, or a failure reason (trigger_timeout, execution_timeout, trigger_failure). */
  resumed_by: 'event' | FailReasonKind | null;
}

/** One ended try (Airflow's TaskInstanceHistory row, plus its deferral windows). */
export interface TaskInstanceTryDoc {
  try_number: number;
  /** The state the try ended in (success, failed, up_for_retry, …; running/deferred when a user ended it by clearing). */
  state: TaskInstanceState;
  queued_at: Date | null;
  start_date: Date | null;
  end_date: Date | null;
  /** Seconds from start to end. */
  duration: number | null;
  /** The worker that ended the try (or last held it). */
  hostname: string | null;
  pid: number | null;
  worker_id: string | null;
  operator: string;
  max_tries: number;
  last_error: string | null;
  deferrals: TryDeferralWindow[];
  /** Why this record was written: the try finished on a worker, was reaped, or a user cleared / marked it. */
  ended_by: 'worker' | 'zombie_reaper' | 'clear' | 'mark';
}

/** What ended a deferral in `__fail__`: its trigger's deadline, the task's execution_timeout, or the trigger itself. */
export const FAIL_REASON_KINDS = ['trigger_timeout', 'execution_timeout', 'trigger_failure'] as const;
export type FailReasonKind = (typeof FAIL_REASON_KINDS)[number];
export interface FailReason {
  kind: FailReasonKind;
  /** Shown in the task log and as the try's error. */
  message: string;
}

export interface TriggerDoc {
  _id: string; // uuid
  kind: string;
  kwargs: string; // JSON
  created_at: Date;
  /** Absolute timeout; null = none. Survives restarts because it is stored, not a timer. */
  deadline: Date | null;
  /**
   * Which of the TRIGGER_SHARD_COUNT shards the trigger belongs to (triggerShardOf(_id), set at
   * creation). Triggerers own triggers by leasing whole shards (`trigger_shards`), never row by
   * row: claiming N triggers costs one read of the rows plus O(shards) lease writes. Absent only on
   * rows written before shards existed; a triggerer fills it in when it starts.
   */
  shard?: number;
  /**
   * The owning triggerer, for readers: NOT written by triggerers (ownership is the lease of the
   * row's shard). Stored rows carry null; the read queries (src/app/queries, `triggers list`) fill
   * it in from the shard leases (store/repositories/trigger-owners.ts).
   */
  triggerer_id: string | null;
  /** When the owning triggerer took the row's shard (filled in like triggerer_id). */
  claimed_at: Date | null;
  /** The deferred task this trigger resumes. */
  task_instance_id: string;
  dag_id: string;
  run_id: string;
  task_id: string;
  /**
   * Keys under which events for this trigger are routed (e.g. 'sagemaker:training-job:my-job').
   * Lets any triggerer that receives an event find the trigger in O(1) through an index.
   */
  routing_keys: string[];
  /** Human label of what it waits on (job name, datetime, pattern). */
  description: string | null;
  /**
   * What the watched resource last reported while the task waits (a SageMaker job's status and
   * secondary status, from its state-change events and the reconcile sweep), written by the
   * triggerer holding the trigger; absent until something was reported. For the API's deferrals
   * view and `triggers list`.
   */
  last_status?: string | null;
  last_secondary_status?: string | null;
  /** The status message that came with it (SageMaker's StatusMessage of the transition). */
  last_status_message?: string | null;
  /** When that status was reported (the event's time). */
  last_event_at?: Date | null;
}

/** How many shards trigger ownership is split into. Fixed: every process must agree on it. */
export const TRIGGER_SHARD_COUNT = 64;

/** The shard of a trigger id: FNV-1a of the id, modulo TRIGGER_SHARD_COUNT (stable across processes and versions). */
export function triggerShardOf(triggerId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < triggerId.length; i++) {
    h ^= triggerId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % TRIGGER_SHARD_COUNT;
}

/**
 * The lease of one trigger shard (`trigger_shards`, one row per shard, `_id` = the shard number).
 * A triggerer holds every trigger of the shards it leases; the lease is renewed with its heartbeat
 * and taken over by another triggerer once it expires. Hand-over to a joining triggerer is a
 * guarded write by the holder (holder → the requester), so a shard never has two lease holders;
 * the old holder keeps running the shard's triggers until the new one reports them started.
 */
export interface TriggerShardDoc {
  /** String(shard): per-document locks (FerretDB) and every guarded write name rows by string id. */
  _id: string;
  shard: number;
  /** The triggerer job id holding the lease; null = free. */
  holder: string | null;
  /** The lease is void after this instant (renewed by the holder's heartbeat). */
  expires_at: Date;
  /** When the current holder took it. */
  acquired_at: Date | null;
  /** Incremented by every change of holder: a hand-over or takeover is never mistaken for a renewal. */
  epoch: number;
  /** A triggerer asking the (live) holder to hand this shard over (rebalancing); null = none. */
  wanted_by: string | null;
  /** The holder has started the shard's triggers (the previous holder may let go of them). */
  started: boolean;
  /** Triggers the holder last counted in it (rebalancing and capacity). */
  triggers: number;
}

/** This deployment's identity (one row, `_id: 'deployment'`): names its AWS event stream and tags its SageMaker jobs. */
export interface DeploymentDoc {
  _id: 'deployment';
  /** Short lower-case id (letters and digits), fit for queue and rule names and tag values. */
  deployment_id: string;
  created_at: Date;
}

export interface XComDoc {
  _id: string; // xcomId(ti id, key)
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  key: string;
  value: string; // JSON
  timestamp: Date;
}

export interface VariableDoc {
  _id: string; // key
  key: string;
  val: string;
  description: string | null;
  is_encrypted: boolean;
  updated_at: Date;
}

export interface ConnectionDoc {
  _id: string; // conn_id
  conn_id: string;
  conn_type: string;
  description: string | null;
  host: string | null;
  schema: string | null;
  login: string | null;
  /** Encrypted (AES-256-GCM envelope) when set. */
  password: string | null;
  port: number | null;
  /** Encrypted JSON object string when set. */
  extra: string | null;
  updated_at: Date;
}

export const JOB_TYPES = ['SchedulerJob', 'WorkerJob', 'TriggererJob', 'WebserverJob', 'LocalAwsJob'] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** A running process (Airflow's `job` table): heartbeats tell the living from the dead. */
export interface JobDoc {
  _id: string; // uuid
  job_type: JobType;
  hostname: string;
  pid: number;
  state: 'running' | 'success' | 'failed';
  start_date: Date;
  end_date: Date | null;
  latest_heartbeat: Date;
  /** Worker slots / triggerer capacity. */
  capacity: number | null;
  /** Load right now (slots used / triggers held). */
  load: number | null;
}

export interface ImportErrorDoc {
  _id: string; // filename
  filename: string;
  /** The error with the DAG file's own stack frames only. */
  stacktrace: string;
  /** When the processor first saw this error (unchanged while the same error repeats). */
  timestamp: Date;
  /** One-paragraph message naming file:line, and the line. */
  message?: string;
  line?: number | null;
}

export interface TaskLogDoc {
  _id?: unknown;
  ti_id: string;
  dag_id: string;
  run_id: string;
  task_id: string;
  try_number: number;
  /** Per-try monotonically increasing sequence, for tailing (`after_seq`). */
  seq: number;
  ts: Date;
  level: string;
  msg: string;
}

/**
 * A callback to run because a state changed (Airflow's CallbackRequest): a DAG's
 * on_success/on_failure_callback when its run finished, or a task's on_*_callback when a try
 * ended. Inserted before the state change it follows (deleted again if that change loses its
 * race), run by whoever made the change, and deleted once run — so a process dying between the
 * change and the callback leaves the request behind, and another process of the same role picks it
 * up once its lease expired. A request whose state change did not happen (the row is not in the
 * state it names) is dropped unrun.
 */
export interface CallbackRequestDoc {
  /** Deterministic (see callbackRequestId): the same change never asks twice. */
  _id: string;
  kind: 'dag' | 'task';
  dag_id: string;
  run_id: string;
  /** Task callbacks: the task, its try and the state the try ended in. */
  task_id: string | null;
  try_number: number | null;
  /** The state the run / task instance must be in for the callback to run. */
  state: string;
  /** Which callback: on_success_callback, on_failure_callback, on_retry_callback … */
  callback: string;
  /** Why (a DAG callback's reason, a failed try's error message); null when none. */
  reason: string | null;
  /** Run clear number (DAG callbacks): a cleared and re-finished run asks again. */
  clear_number: number | null;
  created_at: Date;
  /** The process running it, until lease_expires_at; a later taker re-runs it (at least once). */
  owner: string | null;
  lease_expires_at: Date;
  attempts: number;
}

export function callbackRequestId(r: Pick<CallbackRequestDoc, 'kind' | 'dag_id' | 'run_id' | 'task_id' | 'try_number' | 'state' | 'clear_number'>): string {
  return r.kind === 'dag'
    ? `dag|${r.dag_id}|${r.run_id}|${r.clear_number ?? 0}|${r.state}`
    : `task|${r.dag_id}|${r.run_id}|${r.task_id}|${r.try_number}|${r.state}`;
}

/**
 * The audit log (Airflow's `log` table, served as /eventLogs): who did what, when — triggers,
 * clears, marks, pauses, deletions, notes, variable and connection changes — recorded by the
 * use-cases (src/app/use-cases), so the API, the CLI and an embedding Runtime all leave entries.
 */
export interface EventLogDoc {
  /** Numeric, as Airflow's event_log_id: milliseconds since the epoch × 1000 + a random tie-breaker, unique. */
  _id: number;
  dttm: Date;
  event: string;
  /** Who: the API user (basic auth), `token` (bearer), `anonymous` (an open loopback webserver) or the OS user of a CLI / Runtime process. */
  owner: string;
  dag_id: string | null;
  task_id: string | null;
  run_id: string | null;
  map_index: number | null;
  try_number: number | null;
  logical_date: Date | null;
  /** JSON object: where it came from (`source`: api, cli, runtime) and the operation's details. Never secrets. */
  extra: string | null;
}

/**
 * The last reading of a process's deferral figures (event → resume latency histogram, events by
 * outcome, sweep recoveries), written by every process that serves /metrics, so the deferrals page
 * of any webserver shows them across processes and restarts. One row per process run.
 */
export interface MetricsSnapshotDoc {
  _id: string; // process id (job id when the process has one)
  process: string;
  hostname: string;
  pid: number;
  started_at: Date;
  updated_at: Date;
  /** Histograms by metric name: cumulative bucket counts (`le` as written by prom-client, +Inf included), count and sum. */
  histograms: Record<string, { buckets: Array<{ le: string; count: number }>; count: number; sum: number }>;
  /** Counter totals by metric name and label set (`labels` as `k=v,k=v`). */
  counters: Record<string, Array<{ labels: string; value: number }>>;
}

export const COLLECTIONS = {
  dags: 'dags',
  dagRuns: 'dag_runs',
  taskInstances: 'task_instances',
  triggers: 'triggers',
  xcom: 'xcom',
  variables: 'variables',
  connections: 'connections',
  jobs: 'jobs',
  importErrors: 'import_errors',
  dagVersions: 'dag_versions',
  taskLogs: 'task_logs',
  triggerShards: 'trigger_shards',
  deployment: 'deployment',
  callbackRequests: 'callback_requests',
  eventLogs: 'event_logs',
  metricsSnapshots: 'metrics_snapshots',
} as const;

export function dagVersionId(dagId: string, version: string): string {
  return `${dagId}|${version}`;
}

export function dagRunId(dagId: string, runId: string): string {
  return `${dagId}|${runId}`;
}

/** dag ids and task ids cannot contain '|', so the key is unambiguous. */
export function taskInstanceId(dagId: string, runId: string, taskId: string, mapIndex = -1): string {
  return mapIndex === -1 ? `${dagId}|${runId}|${taskId}` : `${dagId}|${runId}|${taskId}|${mapIndex}`;
}

export function xcomId(tiId: string, key: string): string {
  return `${tiId}|${key}`;
}

/**
 * Short-lived per-document write lock (see transitions/atomic-updater.ts): only used on servers
 * whose single-document updates are not atomic (FerretDB v1). `_id` = `<collection>:<doc id>`.
 */
export interface DocLockDoc {
  _id: string;
  holder: string;
  /** A lock whose holder died is taken over after this instant. */
  expires_at: Date;
}

export const DOC_LOCKS_COLLECTION = 'doc_locks';
