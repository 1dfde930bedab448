/**
 * BaseOperator: the unit of work in a DAG. Subclasses implement `execute(ctx)`; a deferrable one
 * calls `this.defer(...)` and implements the resume method it names.
 *
 * Operators are defined once per DAG file load but may run many times at once in one worker (other
 * runs, other tries), so the worker never mutates the defined operator: it makes a per-try copy
 * (`copyForTry`) and renders `templateFields` into that copy — as Airflow renders into a task copy.
 */
import { DagImportError } from '../errors/dag-import-error.ts';
import type { Duration } from '../util/duration.ts';
import { parseDuration } from '../util/duration.ts';
import type { TriggerRule } from './trigger-rules.ts';
import { captureDefinitionSite, formatSite, type DefinitionSite } from './definition-site.ts';
import { currentDag } from './dag-context.ts';
import type { DAG } from './dag.ts';
import { TaskDeferred, type DeferRequest } from './task-deferred.ts';
import type { TaskContext } from './task-context.ts';
import { TASK_ARG_DEFAULTS, taskArgProblems, type BaseTaskArgs, type OperatorArgs, type TaskCallback } from './task-args.ts';
import { XComArg } from './xcom-arg.ts';

const TASK_ID_RE = /^[a-zA-Z0-9_.-]{1,250}$/;

export type DependencyTarget = BaseOperator | ReadonlyArray<BaseOperator>;

export abstract class BaseOperator {
  /** Names of instance properties rendered as templates before execute (recursively). */
  static templateFields: readonly string[] = [];
  /** Instance override of the class's templateFields. */
  templateFields?: readonly string[];

  readonly taskId: string;
  /** Explicit args merged with the DAG's default_args (explicit wins). */
  readonly args: OperatorArgs;
  readonly definedAt: DefinitionSite;
  readonly upstreamTaskIds = new Set<string>();
  readonly downstreamTaskIds = new Set<string>();
  /** Upstreams named by id only (`upstream_task_ids`), checked when the DAG is validated. */
  readonly declaredUpstreamIds: string[] = [];
  private _dag?: DAG;

  constructor(args: OperatorArgs & { dag?: DAG; upstream_task_ids?: string[] }) {
    const taskId = args.taskId ?? (args as { task_id?: string }).task_id;
    this.definedAt = captureDefinitionSite();
    if (typeof taskId !== 'string' || !TASK_ID_RE.test(taskId)) {
      throw new DagImportError(`Invalid taskId ${JSON.stringify(taskId)}: use 1-250 letters, digits, '_', '.' or '-'`, this.definedAt);
    }
    this.taskId = taskId;
    const { dag, upstream_task_ids, ...rest } = args;
    this.args = { ...rest, taskId };
    const problems = taskArgProblems(this.args);
    if (problems.length) throw new DagImportError(`Task '${taskId}': ${problems.join('; ')}`, this.definedAt);
    if (upstream_task_ids) this.declaredUpstreamIds.push(...upstream_task_ids);
    const target = dag ?? currentDag();
    if (target) target.addTask(this);
  }

  /** Class name shown in UIs (Airflow's `task_type`). */
  get operatorName(): string {
    return this.constructor.name;
  }

  get dag(): DAG | undefined {
    return this._dag;
  }

  /** Called by DAG.addTask: merges default_args into args for keys the task left unset. */
  attachTo(dag: DAG, defaultArgs: BaseTaskArgs): void {
    if (this._dag && this._dag !== dag) {
      throw new DagImportError(`Task '${this.taskId}' already belongs to DAG '${this._dag.dagId}'`, this.definedAt);
    }
    this._dag = dag;
    for (const [k, v] of Object.entries(defaultArgs)) {
      if ((this.args as Record<string, unknown>)[k] === undefined) (this.args as Record<string, unknown>)[k] = v;
    }
  }

  // ---- effective task arguments (read lazily so default_args always apply) ----
  get retries(): number {
    return this.args.retries ?? TASK_ARG_DEFAULTS.retries;
  }
  get retryDelayMs(): number {
    return parseDuration(this.args.retry_delay ?? TASK_ARG_DEFAULTS.retry_delay);
  }
  get retryExponentialBackoff(): boolean {
    return this.args.retry_exponential_backoff ?? TASK_ARG_DEFAULTS.retry_exponential_backoff;
  }
  get maxRetryDelayMs(): number | null {
    const d = this.args.max_retry_delay;
    return d == null ? null : parseDuration(d);
  }
  get executionTimeoutMs(): number | null {
    const d = this.args.execution_timeout;
    return d == null ? null : parseDuration(d);
  }
  get triggerRule(): TriggerRule {
    return this.args.trigger_rule ?? TASK_ARG_DEFAULTS.trigger_rule;
  }
  get priorityWeight(): number {
    return this.args.priority_weight ?? TASK_ARG_DEFAULTS.priority_weight;
  }
  get queue(): string {
    return this.args.queue ?? TASK_ARG_DEFAULTS.queue;
  }
  get owner(): string {
    return String(this.args.owner ?? TASK_ARG_DEFAULTS.owner);
  }
  callback(name: 'on_success_callback' | 'on_failure_callback' | 'on_retry_callback' | 'on_execute_callback'): TaskCallback | undefined {
    const cb = this.args[name];
    return typeof cb === 'function' ? (cb as TaskCallback) : undefined;
  }

  /** The template fields this operator declares (instance override, else the class's). */
  get resolvedTemplateFields(): readonly string[] {
    return this.templateFields ?? (this.constructor as typeof BaseOperator).templateFields;
  }

  // ---- dependencies: a.then(b).then(c), a.then([b, c]) ----
  /** Make `targets` downstream of this task; returns `targets` so calls chain left to right. */
  // biome-ignore lint/suspicious/noThenProperty: Airflow's `a.then(b)` spelling of `a >> b`; operators are never awaited.
  then<T extends DependencyTarget>(targets: T): T {
    for (const t of Array.isArray(targets) ? targets : [targets as BaseOperator]) this.linkDownstream(t);
    return targets;
  }

  /** Airflow's `set_downstream`. */
  setDownstream(targets: DependencyTarget): void {
    this.then(targets);
  }

  /** Airflow's `set_upstream`. */
  setUpstream(targets: DependencyTarget): void {
    for (const t of Array.isArray(targets) ? targets : [targets as BaseOperator]) t.linkDownstream(this);
  }

  private linkDownstream(other: BaseOperator): void {
    if (other === this) throw new DagImportError(`Task '${this.taskId}' cannot depend on itself`, other.definedAt);
    const dag = this._dag ?? other._dag;
    if (dag) {
      if (!this._dag) dag.addTask(this);
      if (!other._dag) dag.addTask(other);
      if (this._dag !== other._dag) {
        throw new DagImportError(
          `Tasks '${this.taskId}' (DAG '${this._dag?.dagId}') and '${other.taskId}' (DAG '${other._dag?.dagId}') are in different DAGs`,
          other.definedAt,
        );
      }
    }
    this.downstreamTaskIds.add(other.taskId);
    other.upstreamTaskIds.add(this.taskId);
  }

  /** Airflow's `task.output`: this task's return value as an argument of another task. */
  get output(): XComArg {
    return new XComArg(this, 'return_value');
  }

  xcom(key: string): XComArg {
    return new XComArg(this, key);
  }

  // ---- execution ----
  abstract execute(ctx: TaskContext): Promise<unknown> | unknown;

  /** Suspend this task until the trigger fires; resumes in `method` on a worker. Never returns. */
  defer(request: { trigger: DeferRequest['trigger']; method: string; kwargs?: Record<string, unknown>; timeout?: Duration | null }): never {
    if (typeof (this as unknown as Record<string, unknown>)[request.method] !== 'function') {
      throw new TypeError(`${this.operatorName}.defer: resume method '${request.method}' does not exist`);
    }
    throw new TaskDeferred(request);
  }

  /**
   * A per-try copy that shares the prototype (methods) and shallow-copies instance fields, so
   * rendering templates into it never touches the definition other runs use.
   */
  copyForTry(): this {
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    for (const key of Reflect.ownKeys(this)) {
      const desc = Object.getOwnPropertyDescriptor(this, key);
      if (desc) Object.defineProperty(copy, key, desc);
    }
    return copy;
  }

  toString(): string {
    return `<Task(${this.operatorName}): ${this.taskId}>`;
  }

  /** For error messages: where this task was defined. */
  get location(): string {
    return formatSite(this.definedAt);
  }
}
