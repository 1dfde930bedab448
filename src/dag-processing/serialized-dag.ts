/**
 * A DAG as plain data (Airflow's SerializedDAG): what a DAG processor's child process sends back
 * after importing a file, what MongoDB keeps per DAG version, and what schedulers, workers' claims,
 * the API and CLI listings work from — none of them running the DAG file's code.
 *
 * The version is a hash of the serialized DAG and of the file's content: editing a task's code
 * (invisible in the structure) is a new version too, and so is any change to what the scheduler
 * reads. Runs record the version they started with.
 */
import { createHash } from 'node:crypto';
import type { DagCallback } from '../dag/dag.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import type { Schedule } from '../dag/timetable.ts';
import type { TriggerRule } from '../dag/trigger-rules.ts';
import type { DagDefinition, TaskDefinition } from './dag-definition.ts';
import { parseJsonObject } from '../util/json-object.ts';

export const SERIALIZED_DAG_FORMAT = 1;

export interface SerializedTaskData {
  task_id: string;
  operator: string;
  upstream_task_ids: string[];
  downstream_task_ids: string[];
  trigger_rule: TriggerRule;
  retries: number;
  retry_delay_ms: number;
  retry_exponential_backoff: boolean;
  max_retry_delay_ms: number | null;
  execution_timeout_ms: number | null;
  priority_weight: number;
  queue: string;
  owner: string;
  template_fields: string[];
  location: string;
}

export interface SerializedDagData {
  format: typeof SERIALIZED_DAG_FORMAT;
  dag_id: string;
  /** Absolute path of the DAG file as the parsing process saw it. */
  fileloc: string;
  /** The file relative to the DAGs folder it was found in (other machines mount it elsewhere). */
  relative_fileloc: string | null;
  /** sha256 of the file's content when parsed; null for DAGs built in code. */
  source_hash: string | null;
  description: string | null;
  schedule: Schedule;
  start_date: string | null;
  end_date: string | null;
  catchup: boolean;
  tags: string[];
  /** JSON of the params' defaults. */
  params: string;
  max_active_runs: number;
  max_active_tasks: number;
  dagrun_timeout_ms: number | null;
  is_paused_upon_creation: boolean;
  has_on_success_callback: boolean;
  has_on_failure_callback: boolean;
  defined_at: { file?: string; line?: number };
  /** Topological order. */
  tasks: SerializedTaskData[];
}

/** The live-DAG fields serializeDag reads (structural: the DAG may come from another copy of deferflow). */
export type SerializableDag = DagDefinition & { readonly description?: string };

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v ?? {}) ?? '{}';
  } catch {
    return '{}';
  }
}

export function serializeDag(dag: SerializableDag, where: { fileloc: string; relativeFileloc: string | null; sourceHash: string | null }): SerializedDagData {
  const tasks = dag.topologicalOrder().map((id): SerializedTaskData => {
    const t = dag.getTask(id);
    return {
      task_id: t.taskId,
      operator: t.operatorName,
      upstream_task_ids: [...t.upstreamTaskIds].sort(),
      downstream_task_ids: [...t.downstreamTaskIds].sort(),
      trigger_rule: t.triggerRule,
      retries: t.retries,
      retry_delay_ms: t.retryDelayMs,
      retry_exponential_backoff: t.retryExponentialBackoff,
      max_retry_delay_ms: t.maxRetryDelayMs,
      execution_timeout_ms: t.executionTimeoutMs,
      priority_weight: t.priorityWeight,
      queue: t.queue,
      owner: t.owner,
      template_fields: [...t.resolvedTemplateFields],
      location: t.location,
    };
  });
  return {
    format: SERIALIZED_DAG_FORMAT,
    dag_id: dag.dagId,
    fileloc: where.fileloc,
    relative_fileloc: where.relativeFileloc,
    source_hash: where.sourceHash,
    description: dag.description ?? null,
    schedule: dag.schedule,
    start_date: dag.startDate ? dag.startDate.toISOString() : null,
    end_date: dag.endDate ? dag.endDate.toISOString() : null,
    catchup: dag.catchup,
    tags: [...dag.tags],
    params: safeJson(dag.params),
    max_active_runs: dag.maxActiveRuns,
    max_active_tasks: dag.maxActiveTasks,
    dagrun_timeout_ms: dag.dagrunTimeoutMs,
    is_paused_upon_creation: dag.isPausedUponCreation,
    has_on_success_callback: typeof dag.onSuccessCallback === 'function',
    has_on_failure_callback: typeof dag.onFailureCallback === 'function',
    defined_at: { ...(dag.definedAt.file ? { file: dag.definedAt.file } : {}), ...(dag.definedAt.line ? { line: dag.definedAt.line } : {}) },
    tasks,
  };
}

/** The version of a serialized DAG: 16 hex digits of sha256 over its canonical JSON. */
export function dagVersionOf(data: SerializedDagData): string {
  return sha256(JSON.stringify(data)).slice(0, 16);
}

/** Runs a serialized DAG's callback where its file can be imported (a child process). */
export type DagCallbackRunner = (request: { file: string; dagId: string; which: 'success' | 'failure'; info: Parameters<DagCallback>[0] }) => Promise<void>;

class SerializedTask implements TaskDefinition {
  readonly upstreamTaskIds: ReadonlySet<string>;
  readonly downstreamTaskIds: ReadonlySet<string>;

  constructor(private readonly d: SerializedTaskData) {
    this.upstreamTaskIds = new Set(d.upstream_task_ids);
    this.downstreamTaskIds = new Set(d.downstream_task_ids);
  }
  get taskId(): string {
    return this.d.task_id;
  }
  get operatorName(): string {
    return this.d.operator;
  }
  get triggerRule(): TriggerRule {
    return this.d.trigger_rule;
  }
  get retries(): number {
    return this.d.retries;
  }
  get retryDelayMs(): number {
    return this.d.retry_delay_ms;
  }
  get retryExponentialBackoff(): boolean {
    return this.d.retry_exponential_backoff;
  }
  get maxRetryDelayMs(): number | null {
    return this.d.max_retry_delay_ms;
  }
  get executionTimeoutMs(): number | null {
    return this.d.execution_timeout_ms;
  }
  get priorityWeight(): number {
    return this.d.priority_weight;
  }
  get queue(): string {
    return this.d.queue;
  }
  get owner(): string {
    return this.d.owner;
  }
  get resolvedTemplateFields(): readonly string[] {
    return this.d.template_fields;
  }
  get location(): string {
    return this.d.location;
  }
  toString(): string {
    return `<Task(${this.d.operator}): ${this.d.task_id}>`;
  }
}

/** A DagDefinition over serialized data. Callbacks, when the DAG has them, run through `callbacks`. */
export class SerializedDag implements DagDefinition {
  readonly version: string;
  readonly startDate: Date | null;
  readonly endDate: Date | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly onSuccessCallback?: DagCallback;
  readonly onFailureCallback?: DagCallback;
  private readonly tasks: Map<string, SerializedTask>;

  constructor(
    readonly data: SerializedDagData,
    opts: { version?: string; callbacks?: DagCallbackRunner } = {},
  ) {
    this.version = opts.version ?? dagVersionOf(data);
    this.startDate = data.start_date ? new Date(data.start_date) : null;
    this.endDate = data.end_date ? new Date(data.end_date) : null;
    this.params = parseJsonObject(data.params);
    this.tasks = new Map(data.tasks.map((t) => [t.task_id, new SerializedTask(t)]));
    const run = opts.callbacks;
    if (run && data.has_on_success_callback) this.onSuccessCallback = (info) => run({ file: data.fileloc, dagId: data.dag_id, which: 'success', info });
    if (run && data.has_on_failure_callback) this.onFailureCallback = (info) => run({ file: data.fileloc, dagId: data.dag_id, which: 'failure', info });
  }

  get dagId(): string {
    return this.data.dag_id;
  }
  get description(): string | undefined {
    return this.data.description ?? undefined;
  }
  get schedule(): Schedule {
    return this.data.schedule;
  }
  get catchup(): boolean {
    return this.data.catchup;
  }
  get tags(): readonly string[] {
    return this.data.tags;
  }
  get maxActiveRuns(): number {
    return this.data.max_active_runs;
  }
  get maxActiveTasks(): number {
    return this.data.max_active_tasks;
  }
  get dagrunTimeoutMs(): number | null {
    return this.data.dagrun_timeout_ms;
  }
  get isPausedUponCreation(): boolean {
    return this.data.is_paused_upon_creation;
  }
  get fileloc(): string {
    return this.data.fileloc;
  }
  get definedAt(): { file?: string; line?: number } {
    return this.data.defined_at;
  }
  get taskIds(): string[] {
    return [...this.tasks.keys()];
  }
  get taskList(): TaskDefinition[] {
    return [...this.tasks.values()];
  }
  get roots(): TaskDefinition[] {
    return this.taskList.filter((t) => t.upstreamTaskIds.size === 0);
  }
  hasTask(taskId: string): boolean {
    return this.tasks.has(taskId);
  }
  getTask(taskId: string): TaskDefinition {
    const t = this.tasks.get(taskId);
    if (!t) throw new NotFoundError('TASK_NOT_FOUND', `DAG '${this.dagId}' has no task '${taskId}'`);
    return t;
  }
  /** Stored in topological order already. */
  topologicalOrder(): string[] {
    return this.taskIds;
  }
  toString(): string {
    return `<DAG: ${this.dagId}>`;
  }
}
