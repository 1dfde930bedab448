/**
 * What the scheduler, the worker's claim and the API need to know about a DAG, as interfaces both
 * shapes satisfy: a live `DAG` (built in this process, with its operators) and a `SerializedDag`
 * (read from a DAG processor's parse, no user code in this process). Only running a task needs
 * the live DAG, which `DagSource.loadDag` provides.
 */
import type { DAG, DagCallback } from '../dag/dag.ts';
import type { Schedule } from '../dag/timetable.ts';
import type { TriggerRule } from '../dag/trigger-rules.ts';

export interface TaskDefinition {
  readonly taskId: string;
  /** Class name shown in UIs (Airflow's `task_type`). */
  readonly operatorName: string;
  readonly upstreamTaskIds: ReadonlySet<string>;
  readonly downstreamTaskIds: ReadonlySet<string>;
  readonly triggerRule: TriggerRule;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly retryExponentialBackoff: boolean;
  readonly maxRetryDelayMs: number | null;
  readonly executionTimeoutMs: number | null;
  readonly priorityWeight: number;
  readonly queue: string;
  readonly owner: string;
  readonly resolvedTemplateFields: readonly string[];
  /** Where the task was defined (file:line). */
  readonly location: string;
}

export interface DagDefinition {
  readonly dagId: string;
  readonly description?: string;
  readonly schedule: Schedule;
  readonly startDate: Date | null;
  readonly endDate: Date | null;
  readonly catchup: boolean;
  readonly tags: readonly string[];
  readonly params: Readonly<Record<string, unknown>>;
  readonly maxActiveRuns: number;
  readonly maxActiveTasks: number;
  readonly dagrunTimeoutMs: number | null;
  readonly isPausedUponCreation: boolean;
  readonly fileloc?: string;
  readonly definedAt: { file?: string; line?: number };
  readonly onSuccessCallback?: DagCallback;
  readonly onFailureCallback?: DagCallback;
  readonly taskIds: string[];
  readonly taskList: TaskDefinition[];
  /** Tasks with no upstream. */
  readonly roots: TaskDefinition[];
  hasTask(taskId: string): boolean;
  getTask(taskId: string): TaskDefinition;
  topologicalOrder(): string[];
}

/** A DAG file that could not be imported (or a DAG in it that is invalid). */
export interface DagImportErrorEntry {
  file: string;
  /** Line in `file` the error points at, when known. */
  line?: number;
  /** One paragraph naming the file (and line) and what is wrong. */
  message: string;
  /** The error with only the DAG file's own stack frames (no deferflow or Node internals). */
  stack: string;
}

/**
 * Where a process gets its DAGs: the scheduler and the worker's claim read definitions
 * synchronously; running a task loads the live DAG (importing its file safely when it comes
 * from a folder).
 */
export interface DagSource {
  readonly dags: ReadonlyMap<string, DagDefinition>;
  readonly size: number;
  readonly importErrors: ReadonlyArray<DagImportErrorEntry>;
  getDag(dagId: string): DagDefinition | undefined;
  /** The version (hash) of the DAG as this source knows it; recorded on the runs it starts. */
  versionOf(dagId: string): string | undefined;
  /** The DAG with its operators, for running its tasks; rejects with a DagImportError saying why not. */
  loadDag(dagId: string): Promise<DAG>;
}
