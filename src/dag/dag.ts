/**
 * A DAG: schedule, defaults and a graph of operators.
 *
 *   export default new DAG({ dagId: 'etl', schedule: '@daily', startDate: '2025-01-01', catchup: false,
 *                            defaultArgs: { retries: 1, aws_conn_id: 'aws-sagemaker' } }, () => {
 *     const a = task('a', async () => 1);
 *     const b = new SomeOperator({ taskId: 'b' });
 *     a.then(b);
 *   });
 *
 * Operators created inside the builder callback (or `dag.with(fn)`, or with `dag:` in their args)
 * join this DAG and inherit `defaultArgs`.
 */
import { DagImportError } from '../errors/dag-import-error.ts';
import type { Schedule } from './timetable.ts';
import { validateSchedule } from './timetable.ts';
import type { Duration } from '../util/duration.ts';
import { parseDuration } from '../util/duration.ts';
import { DAG_BRAND } from './dag-brand.ts';
import { captureDefinitionSite, type DefinitionSite } from './definition-site.ts';
import { withDagContext } from './dag-context.ts';
import type { BaseOperator } from './operator.ts';
import { durationProblem, integerProblem, taskArgProblems, type BaseTaskArgs } from './task-args.ts';

const DAG_ID_RE = /^[a-zA-Z0-9_.-]{1,250}$/;

export type DagCallback = (info: { dagId: string; runId: string; state: 'success' | 'failed'; reason?: string }) => void | Promise<void>;

export interface DagOptions {
  dagId: string;
  description?: string;
  /** Cron expression, preset ('@daily', '@once', …) or null for manual runs only. */
  schedule?: Schedule;
  startDate?: Date | string;
  endDate?: Date | string | null;
  /** Create runs for every missed interval since startDate (Airflow 3's default: false). */
  catchup?: boolean;
  defaultArgs?: BaseTaskArgs;
  /** Run parameters with their defaults; a run's conf overrides them. */
  params?: Record<string, unknown>;
  tags?: string[];
  maxActiveRuns?: number;
  maxActiveTasks?: number;
  dagrunTimeout?: Duration | null;
  isPausedUponCreation?: boolean;
  docMd?: string;
  onSuccessCallback?: DagCallback;
  onFailureCallback?: DagCallback;
}

function toDate(v: Date | string | undefined | null, field: string, site: DefinitionSite): Date | null {
  if (v == null) return null;
  const d = v instanceof Date ? v : new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(d.getTime())) throw new DagImportError(`${field} ${JSON.stringify(v)} is not a valid date`, site);
  return d;
}

/**
 * Everything wrong with the DAG-level options, one line each. Checked at construction so a bad
 * value is an import error at the `new DAG(` line instead of a throw in a scheduler loop.
 */
function dagOptionProblems(o: DagOptions): string[] {
  const out: Array<string | null> = [
    integerProblem('maxActiveRuns', o.maxActiveRuns, 1),
    integerProblem('maxActiveTasks', o.maxActiveTasks, 1),
    durationProblem('dagrunTimeout', o.dagrunTimeout, { nullable: true, positive: true }),
  ];
  for (const key of ['catchup', 'isPausedUponCreation'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') out.push(`${key}: must be true or false, got ${JSON.stringify(o[key])}`);
  }
  for (const key of ['description', 'docMd'] as const) {
    if (o[key] !== undefined && o[key] !== null && typeof o[key] !== 'string') out.push(`${key}: must be a string`);
  }
  if (o.tags !== undefined && (!Array.isArray(o.tags) || o.tags.some((t) => typeof t !== 'string'))) out.push('tags: must be an array of strings');
  if (o.params !== undefined && (o.params === null || typeof o.params !== 'object' || Array.isArray(o.params))) {
    out.push('params: must be an object of parameter names to default values');
  }
  for (const key of ['onSuccessCallback', 'onFailureCallback'] as const) {
    if (o[key] !== undefined && o[key] !== null && typeof o[key] !== 'function') out.push(`${key}: must be a function`);
  }
  if (o.defaultArgs !== undefined && (o.defaultArgs === null || typeof o.defaultArgs !== 'object' || Array.isArray(o.defaultArgs))) {
    out.push('defaultArgs: must be an object of task arguments');
  } else if (o.defaultArgs) {
    out.push(...taskArgProblems(o.defaultArgs).map((p) => `defaultArgs.${p}`));
  }
  return out.filter((p): p is string => p !== null);
}

export class DAG {
  /** Brand shared by every copy of deferflow (see dag-brand.ts). */
  readonly [DAG_BRAND] = true;
  readonly dagId: string;
  readonly description?: string;
  readonly schedule: Schedule;
  readonly startDate: Date | null;
  readonly endDate: Date | null;
  readonly catchup: boolean;
  readonly defaultArgs: BaseTaskArgs;
  readonly params: Record<string, unknown>;
  readonly tags: string[];
  readonly maxActiveRuns: number;
  readonly maxActiveTasks: number;
  readonly dagrunTimeoutMs: number | null;
  readonly isPausedUponCreation: boolean;
  readonly docMd?: string;
  readonly onSuccessCallback?: DagCallback;
  readonly onFailureCallback?: DagCallback;
  readonly definedAt: DefinitionSite;
  /** Set by the loader: the file the DAG came from. */
  fileloc?: string;

  private readonly tasks = new Map<string, BaseOperator>();

  constructor(options: DagOptions, build?: (dag: DAG) => void) {
    this.definedAt = captureDefinitionSite();
    if (!options || typeof options.dagId !== 'string' || !DAG_ID_RE.test(options.dagId)) {
      throw new DagImportError(`Invalid dagId ${JSON.stringify(options?.dagId)}: use 1-250 letters, digits, '_', '.' or '-'`, this.definedAt);
    }
    this.dagId = options.dagId;
    const problems = dagOptionProblems(options);
    if (problems.length) throw new DagImportError(`DAG '${this.dagId}': ${problems.join('; ')}`, this.definedAt);
    this.description = options.description;
    this.schedule = options.schedule ?? null;
    try {
      validateSchedule(this.schedule);
    } catch (e) {
      throw new DagImportError(`DAG '${this.dagId}': ${(e as Error).message}`, this.definedAt, { cause: e });
    }
    this.startDate = toDate(options.startDate, 'startDate', this.definedAt);
    this.endDate = toDate(options.endDate, 'endDate', this.definedAt);
    if (this.schedule !== null && !this.startDate) {
      throw new DagImportError(`DAG '${this.dagId}' has schedule ${JSON.stringify(this.schedule)} but no startDate`, this.definedAt);
    }
    this.catchup = options.catchup ?? false;
    this.defaultArgs = { ...(options.defaultArgs ?? {}) };
    this.params = { ...(options.params ?? {}) };
    this.tags = [...(options.tags ?? [])];
    this.maxActiveRuns = options.maxActiveRuns ?? 16;
    this.maxActiveTasks = options.maxActiveTasks ?? 16;
    this.dagrunTimeoutMs = options.dagrunTimeout == null ? null : parseDuration(options.dagrunTimeout);
    this.isPausedUponCreation = options.isPausedUponCreation ?? false;
    this.docMd = options.docMd;
    this.onSuccessCallback = options.onSuccessCallback;
    this.onFailureCallback = options.onFailureCallback;
    if (build) this.with(() => build(this));
  }

  /** Run `fn` with this DAG as the one new operators attach to. */
  with<T>(fn: () => T): T {
    return withDagContext(this, fn);
  }

  /** Attach tasks (operators built without a DAG). Duplicate ids are import errors. */
  addTask(op: BaseOperator): void {
    const existing = this.tasks.get(op.taskId);
    if (existing === op) return;
    if (existing) {
      throw new DagImportError(`Duplicate taskId '${op.taskId}' in DAG '${this.dagId}' (first defined at ${existing.location})`, op.definedAt);
    }
    op.attachTo(this, this.defaultArgs);
    this.tasks.set(op.taskId, op);
  }

  add(...ops: BaseOperator[]): this {
    for (const op of ops) this.addTask(op);
    return this;
  }

  get taskIds(): string[] {
    return [...this.tasks.keys()];
  }

  get taskList(): BaseOperator[] {
    return [...this.tasks.values()];
  }

  hasTask(taskId: string): boolean {
    return this.tasks.has(taskId);
  }

  getTask(taskId: string): BaseOperator {
    const t = this.tasks.get(taskId);
    if (!t) throw new DagImportError(`DAG '${this.dagId}' has no task '${taskId}'`);
    return t;
  }

  /** Tasks with no upstream. */
  get roots(): BaseOperator[] {
    return this.taskList.filter((t) => t.upstreamTaskIds.size === 0);
  }

  /**
   * Check the graph as a whole: declared upstream ids exist and there is no cycle. Called by the
   * loader after the file ran, so the error names the DAG file and the offending task's line.
   */
  validate(): void {
    for (const t of this.taskList) {
      // The effective arguments (default_args merged in), in case they changed after construction.
      const problems = taskArgProblems(t.args);
      if (problems.length) throw new DagImportError(`Task '${t.taskId}' in DAG '${this.dagId}': ${problems.join('; ')}`, t.definedAt);
      for (const up of t.declaredUpstreamIds) {
        const u = this.tasks.get(up);
        if (!u) throw new DagImportError(`Task '${t.taskId}' in DAG '${this.dagId}' names unknown upstream task '${up}'`, t.definedAt);
        u.then(t);
      }
      for (const id of [...t.upstreamTaskIds, ...t.downstreamTaskIds]) {
        if (!this.tasks.has(id)) {
          throw new DagImportError(`Task '${t.taskId}' in DAG '${this.dagId}' depends on unknown task '${id}'`, t.definedAt);
        }
      }
    }
    const cycle = this.findCycle();
    if (cycle) {
      const first = this.tasks.get(cycle[0])!;
      throw new DagImportError(`Cycle detected in DAG '${this.dagId}': ${cycle.join(' >> ')}`, first.definedAt);
    }
  }

  /** Task ids in an order where every upstream comes first. */
  topologicalOrder(): string[] {
    const indeg = new Map<string, number>();
    for (const t of this.taskList) indeg.set(t.taskId, t.upstreamTaskIds.size);
    const ready = this.taskList.filter((t) => t.upstreamTaskIds.size === 0).map((t) => t.taskId);
    const out: string[] = [];
    while (ready.length) {
      const id = ready.shift()!;
      out.push(id);
      for (const d of this.tasks.get(id)!.downstreamTaskIds) {
        const n = indeg.get(d)! - 1;
        indeg.set(d, n);
        if (n === 0) ready.push(d);
      }
    }
    return out;
  }

  private findCycle(): string[] | null {
    const WHITE = 0,
      GREY = 1,
      BLACK = 2;
    const color = new Map<string, number>();
    const path: string[] = [];
    const visit = (id: string): string[] | null => {
      color.set(id, GREY);
      path.push(id);
      for (const d of this.tasks.get(id)?.downstreamTaskIds ?? []) {
        const c = color.get(d) ?? WHITE;
        if (c === GREY) return [...path.slice(path.indexOf(d)), d];
        if (c === WHITE) {
          const found = visit(d);
          if (found) return found;
        }
      }
      path.pop();
      color.set(id, BLACK);
      return null;
    };
    for (const id of this.tasks.keys()) {
      if ((color.get(id) ?? WHITE) === WHITE) {
        const found = visit(id);
        if (found) return found;
      }
    }
    return null;
  }

  toString(): string {
    return `<DAG: ${this.dagId}>`;
  }
}
