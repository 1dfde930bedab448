/**
 * The Jinja template context of a task instance, shaped like Airflow 2.x's
 * `TaskInstance.get_template_context()` so that templates copied from Airflow DAGs render the same
 * strings (`{{ ds }}`, `{{ ts_nodash }}`, `{{ var.value.get('k') }}`, `{{ ti.xcom_pull(...) }}`…).
 *
 * Python semantics that nunjucks lacks (attribute fallbacks such as `var.value.my_key`, dict
 * methods on plain objects, None/True rendering) are supplied by render.ts while it renders; the
 * objects here only carry the data and the methods.
 */
import { randomUUID } from 'node:crypto';
import { ds as fmtDs, dsNodash, isoUtc, strftime, strptime, tsNodash, tsNodashWithTz } from '../util/time-format.ts';

export interface ConnectionView {
  conn_id: string;
  conn_type: string;
  host?: string | null;
  login?: string | null;
  password?: string | null;
  schema?: string | null;
  port?: number | null;
  extra?: string | null;
  extra_dejson: Record<string, unknown>;
}

export interface TemplateContextInput {
  dagId: string;
  taskId: string;
  runId: string;
  runType: string;
  logicalDate: Date;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  params: Record<string, unknown>;
  conf: Record<string, unknown>;
  tryNumber: number;
  mapIndex?: number;
  /** Synchronous: the caller preloads the variables the templates may use. */
  getVariable(key: string): string | undefined;
  /** Synchronous. */
  getConnection(connId: string): ConnectionView | undefined;
  /** Synchronous; undefined if absent (same run). */
  getXCom(taskId: string, key: string): unknown;
  /** e.g. operator-specific additions; merged last, so they may override. */
  extra?: Record<string, unknown>;
}

/**
 * Python's `__getattr__`: render.ts calls `obj[GETATTR](name)` when a template reads an attribute the
 * object does not have (`var.value.my_key`, `conn.my_conn`). A registry symbol, so that a second copy
 * of this module (test isolation) still matches the one render.ts patched nunjucks with.
 */
export const GETATTR: unique symbol = Symbol.for('deferflow.templating.getattr') as never;

// --- calling convention ------------------------------------------------------------------------

type Bound = Record<string, unknown>;

function isKeywordArgs(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && (v as { __keywords?: unknown }).__keywords === true;
}

/**
 * Map a nunjucks call onto Python parameters. Nunjucks passes keyword arguments as a trailing
 * `{__keywords: true, ...}` object; positional ones come first.
 */
export function bindArgs(fn: string, names: readonly string[], args: readonly unknown[]): Bound {
  const positional = [...args];
  let keywords: Record<string, unknown> = {};
  if (positional.length > 0 && isKeywordArgs(positional[positional.length - 1])) {
    keywords = positional.pop() as Record<string, unknown>;
  }
  if (positional.length > names.length) {
    throw new TypeError(`${fn}() takes at most ${names.length} positional arguments (${positional.length} given)`);
  }
  const bound: Bound = {};
  positional.forEach((v, i) => {
    bound[names[i]] = v;
  });
  for (const [k, v] of Object.entries(keywords)) {
    if (k === '__keywords') continue;
    if (!names.includes(k)) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
    if (k in bound) throw new TypeError(`${fn}() got multiple values for argument '${k}'`);
    bound[k] = v;
  }
  return bound;
}

const has = (b: Bound, k: string): boolean => Object.hasOwn(b, k);

// --- dates -------------------------------------------------------------------------------------

type DeltaUnits = { years?: number; months?: number; weeks?: number; days?: number; hours?: number; minutes?: number; seconds?: number; microseconds?: number };
const DELTA_NAMES = ['years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds', 'microseconds'] as const;

function num(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${fn}(): ${name} must be a number, got ${String(v)}`);
  return v;
}

/** Add calendar months the way pendulum does: clamp to the end of the target month (Jan 31 + 1 month = Feb 28). */
function addMonths(d: Date, months: number): Date {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const target = new Date(Date.UTC(y, m, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  target.setUTCFullYear(y + Math.floor(m / 12), ((m % 12) + 12) % 12, 1);
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target;
}

function shift(fn: string, d: Date, delta: DeltaUnits, sign: 1 | -1): Date {
  let out = d;
  const months = (delta.years ?? 0) * 12 + (delta.months ?? 0);
  if (months) out = addMonths(out, sign * months);
  const ms =
    (delta.weeks ?? 0) * 604_800_000 +
    (delta.days ?? 0) * 86_400_000 +
    (delta.hours ?? 0) * 3_600_000 +
    (delta.minutes ?? 0) * 60_000 +
    (delta.seconds ?? 0) * 1000 +
    (delta.microseconds ?? 0) / 1000;
  if (!Number.isFinite(ms)) throw new TypeError(`${fn}(): invalid amount`);
  return new Date(out.getTime() + sign * ms);
}

/** A calendar date, like Python's `datetime.date` (what `logical_date.date()` returns). */
export class TemplateDate {
  readonly #date: Date;
  constructor(date: Date) {
    this.#date = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
    this.#date.setUTCFullYear(date.getUTCFullYear());
  }
  get year(): number {
    return this.#date.getUTCFullYear();
  }
  get month(): number {
    return this.#date.getUTCMonth() + 1;
  }
  get day(): number {
    return this.#date.getUTCDate();
  }
  isoformat(): string {
    return fmtDs(this.#date);
  }
  strftime(fmt: unknown): string {
    return strftime(this.#date, String(fmt));
  }
  weekday(): number {
    return (this.#date.getUTCDay() + 6) % 7;
  }
  isoweekday(): number {
    return this.#date.getUTCDay() || 7;
  }
  toString(): string {
    return this.isoformat();
  }
  toJSON(): string {
    return this.isoformat();
  }
}

/**
 * A UTC datetime that behaves like pendulum's DateTime in templates: renders as
 * `2025-04-09T00:00:00+00:00`, has `.year`…`.microsecond`, `.strftime()`, `.isoformat()`,
 * `.add(days=1)`, `.subtract(hours=2)`, `.replace(...)`, `.date()`, `.timestamp()`.
 */
export class TemplateDateTime {
  readonly #date: Date;
  constructor(date: Date) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new TypeError(`invalid datetime: ${String(date)}`);
    this.#date = new Date(date.getTime());
  }
  /** The underlying instant, for code (not templates). */
  toDate(): Date {
    return new Date(this.#date.getTime());
  }
  get year(): number {
    return this.#date.getUTCFullYear();
  }
  get month(): number {
    return this.#date.getUTCMonth() + 1;
  }
  get day(): number {
    return this.#date.getUTCDate();
  }
  get hour(): number {
    return this.#date.getUTCHours();
  }
  get minute(): number {
    return this.#date.getUTCMinutes();
  }
  get second(): number {
    return this.#date.getUTCSeconds();
  }
  get microsecond(): number {
    return this.#date.getUTCMilliseconds() * 1000;
  }
  get int_timestamp(): number {
    return Math.floor(this.#date.getTime() / 1000);
  }
  get timezone_name(): string {
    return 'UTC';
  }
  timestamp(): number {
    return this.#date.getTime() / 1000;
  }
  isoformat(...args: unknown[]): string {
    const { sep } = bindArgs('isoformat', ['sep', 'timespec'], args);
    const iso = isoUtc(this.#date);
    return sep === undefined ? iso : iso.replace('T', String(sep));
  }
  strftime(fmt: unknown): string {
    return strftime(this.#date, String(fmt));
  }
  date(): TemplateDate {
    return new TemplateDate(this.#date);
  }
  weekday(): number {
    return (this.#date.getUTCDay() + 6) % 7;
  }
  isoweekday(): number {
    return this.#date.getUTCDay() || 7;
  }
  to_date_string(): string {
    return fmtDs(this.#date);
  }
  to_datetime_string(): string {
    return strftime(this.#date, '%Y-%m-%d %H:%M:%S');
  }
  to_iso8601_string(): string {
    return isoUtc(this.#date).replace('+00:00', 'Z');
  }
  add(...args: unknown[]): TemplateDateTime {
    return this.#shift('add', args, 1);
  }
  subtract(...args: unknown[]): TemplateDateTime {
    return this.#shift('subtract', args, -1);
  }
  #shift(fn: string, args: unknown[], sign: 1 | -1): TemplateDateTime {
    const b = bindArgs(fn, DELTA_NAMES, args);
    const delta: DeltaUnits = {};
    for (const k of DELTA_NAMES) if (has(b, k)) delta[k] = num(fn, k, b[k]);
    return new TemplateDateTime(shift(fn, this.#date, delta, sign));
  }
  replace(...args: unknown[]): TemplateDateTime {
    const names = ['year', 'month', 'day', 'hour', 'minute', 'second', 'microsecond'] as const;
    const b = bindArgs('replace', names, args);
    const v = (k: (typeof names)[number], cur: number): number => (has(b, k) ? num('replace', k, b[k]) : cur);
    const year = v('year', this.year);
    const month = v('month', this.month);
    const day = v('day', this.day);
    const d = new Date(
      Date.UTC(
        2000,
        month - 1,
        day,
        v('hour', this.hour),
        v('minute', this.minute),
        v('second', this.second),
        Math.floor(v('microsecond', this.microsecond) / 1000),
      ),
    );
    d.setUTCFullYear(year, month - 1, day);
    if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) throw new RangeError('day is out of range for month');
    return new TemplateDateTime(d);
  }
  in_timezone(tz: unknown): TemplateDateTime {
    // deferflow is UTC-only; refusing other zones beats silently returning a wrong wall clock.
    if (typeof tz === 'string' && /^(utc|etc\/utc|z|gmt)$/i.test(tz)) return this;
    throw new Error(`in_timezone(${JSON.stringify(tz)}): deferflow templates only support UTC`);
  }
  in_tz(tz: unknown): TemplateDateTime {
    return this.in_timezone(tz);
  }
  toString(): string {
    return isoUtc(this.#date);
  }
  toJSON(): string {
    return isoUtc(this.#date);
  }
  [Symbol.toPrimitive](hint: string): string | number {
    // Numbers for `<`/`>` comparisons in templates, the pendulum string everywhere else.
    return hint === 'number' ? this.#date.getTime() : isoUtc(this.#date);
  }
}

// --- variables and connections -------------------------------------------------------------------

const NOTSET: unique symbol = Symbol('NOTSET');

/** `var.value` / `var.json` (Airflow's VariableAccessor). */
export class VariableAccessor {
  readonly #deserializeJson: boolean;
  readonly #getVariable: (key: string) => string | undefined;
  constructor(deserializeJson: boolean, getVariable: (key: string) => string | undefined) {
    this.#deserializeJson = deserializeJson;
    this.#getVariable = getVariable;
  }
  #read(key: string, defaultVar: unknown): unknown {
    const raw = this.#getVariable(key);
    if (raw === undefined) {
      if (defaultVar !== NOTSET) return defaultVar;
      throw new Error(`Variable ${key} does not exist`);
    }
    if (!this.#deserializeJson) return raw;
    try {
      return JSON.parse(raw) as unknown;
    } catch (err) {
      throw new Error(`Variable ${key} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  get(...args: unknown[]): unknown {
    const b = bindArgs('get', ['item', 'default_var'], args);
    if (!has(b, 'item')) throw new TypeError("get() missing 1 required positional argument: 'item'");
    return this.#read(String(b.item), has(b, 'default_var') ? b.default_var : NOTSET);
  }
  [GETATTR](key: string): unknown {
    return this.#read(key, NOTSET);
  }
  toString(): string {
    return this.#deserializeJson ? '<var.json>' : '<var.value>';
  }
}

/** What `conn.my_conn_id` evaluates to; renders as its conn_id (like Airflow's Connection repr). */
export class TemplateConnection {
  readonly conn_id: string;
  readonly conn_type: string;
  readonly host: string | null;
  readonly login: string | null;
  readonly password: string | null;
  readonly schema: string | null;
  readonly port: number | null;
  readonly extra: string | null;
  readonly extra_dejson: Record<string, unknown>;
  constructor(view: ConnectionView) {
    this.conn_id = view.conn_id;
    this.conn_type = view.conn_type;
    this.host = view.host ?? null;
    this.login = view.login ?? null;
    this.password = view.password ?? null;
    this.schema = view.schema ?? null;
    this.port = view.port ?? null;
    this.extra = view.extra ?? null;
    this.extra_dejson = view.extra_dejson ?? {};
  }
  toString(): string {
    return this.conn_id;
  }
  toJSON(): string {
    // Never serialise the password through `| tojson`.
    return this.conn_id;
  }
}

/** `conn` (Airflow's ConnectionAccessor). */
export class ConnectionAccessor {
  readonly #getConnection: (connId: string) => ConnectionView | undefined;
  constructor(getConnection: (connId: string) => ConnectionView | undefined) {
    this.#getConnection = getConnection;
  }
  get(...args: unknown[]): unknown {
    const b = bindArgs('get', ['key', 'default_conn'], args);
    const view = this.#getConnection(String(b.key));
    if (view === undefined) return has(b, 'default_conn') ? b.default_conn : null;
    return new TemplateConnection(view);
  }
  [GETATTR](key: string): unknown {
    const view = this.#getConnection(key);
    if (view === undefined) throw new Error(`The conn_id \`${key}\` isn't defined`);
    return new TemplateConnection(view);
  }
  toString(): string {
    return '<conn>';
  }
}

// --- dag, task, task instance, dag run ---------------------------------------------------------------

export class DagView {
  readonly dag_id: string;
  constructor(dagId: string) {
    this.dag_id = dagId;
  }
  toString(): string {
    return `<DAG: ${this.dag_id}>`;
  }
  toJSON(): string {
    return this.toString();
  }
}

export class TaskView {
  readonly task_id: string;
  readonly dag_id: string;
  readonly dag: DagView;
  constructor(taskId: string, dag: DagView) {
    this.task_id = taskId;
    this.dag_id = dag.dag_id;
    this.dag = dag;
  }
  toString(): string {
    return `<Task: ${this.task_id}>`;
  }
  toJSON(): string {
    return this.toString();
  }
}

export class TaskInstanceView {
  readonly dag_id: string;
  readonly task_id: string;
  readonly run_id: string;
  readonly try_number: number;
  readonly map_index: number;
  readonly task: TaskView;
  readonly logical_date: TemplateDateTime;
  readonly execution_date: TemplateDateTime;
  readonly #getXCom: (taskId: string, key: string) => unknown;
  constructor(input: TemplateContextInput, task: TaskView, logicalDate: TemplateDateTime) {
    this.dag_id = input.dagId;
    this.task_id = input.taskId;
    this.run_id = input.runId;
    this.try_number = input.tryNumber;
    this.map_index = input.mapIndex ?? -1;
    this.task = task;
    this.logical_date = logicalDate;
    this.execution_date = logicalDate;
    this.#getXCom = input.getXCom;
  }

  /**
   * Airflow 2.x: `xcom_pull(task_ids=None, dag_id=None, key='return_value', include_prior_dates=False, *,
   * map_indexes=None, default=None)`. A single task id returns its value (or `default`, None by
   * default); a list returns the values that exist, in the order asked.
   */
  xcom_pull(...args: unknown[]): unknown {
    const b = bindArgs('xcom_pull', ['task_ids', 'dag_id', 'key', 'include_prior_dates', 'map_indexes', 'default'], args);
    const key = has(b, 'key') && b.key !== null ? b.key : 'return_value';
    if (typeof key !== 'string') throw new TypeError('xcom_pull(): key must be a string');
    if (has(b, 'dag_id') && b.dag_id !== null && b.dag_id !== this.dag_id) {
      throw new Error(`xcom_pull(): pulling from another DAG (${String(b.dag_id)}) is not supported in templates`);
    }
    if (b.include_prior_dates === true) {
      throw new Error('xcom_pull(): include_prior_dates=True is not supported in templates');
    }
    const taskIds = b.task_ids;
    const fallback = has(b, 'default') ? b.default : null;
    if (typeof taskIds === 'string') {
      const v = this.#getXCom(taskIds, key);
      return v === undefined ? fallback : v;
    }
    if (Array.isArray(taskIds)) {
      const out: unknown[] = [];
      for (const id of taskIds) {
        const v = this.#getXCom(String(id), key);
        if (v !== undefined) out.push(v);
      }
      return out;
    }
    // Airflow would search every task of the run; templates here only see XComs by task id.
    throw new Error("xcom_pull(): task_ids is required in deferflow templates, e.g. ti.xcom_pull(task_ids='train')");
  }

  toString(): string {
    return `<TaskInstance: ${this.dag_id}.${this.task_id} ${this.run_id} ${this.map_index >= 0 ? `map_index=${this.map_index} ` : ''}[running]>`;
  }
  toJSON(): string {
    return this.toString();
  }
}

export class DagRunView {
  readonly dag_id: string;
  readonly run_id: string;
  readonly run_type: string;
  readonly conf: Record<string, unknown>;
  readonly logical_date: TemplateDateTime;
  readonly execution_date: TemplateDateTime;
  readonly data_interval_start: TemplateDateTime;
  readonly data_interval_end: TemplateDateTime;
  readonly external_trigger: boolean;
  constructor(input: TemplateContextInput, dates: { logical: TemplateDateTime; start: TemplateDateTime; end: TemplateDateTime }) {
    this.dag_id = input.dagId;
    this.run_id = input.runId;
    this.run_type = input.runType;
    this.conf = input.conf ?? {};
    this.logical_date = dates.logical;
    this.execution_date = dates.logical;
    this.data_interval_start = dates.start;
    this.data_interval_end = dates.end;
    this.external_trigger = input.runType === 'manual';
  }
  toString(): string {
    return `<DagRun ${this.dag_id} @ ${this.logical_date.toString()}: ${this.run_id}, run_type=${this.run_type}>`;
  }
  toJSON(): string {
    return this.toString();
  }
}

// --- macros ------------------------------------------------------------------------------------------

/** Python's datetime.fromisoformat for the common shapes; a string without offset is read as UTC. */
function parseIsoDateTime(text: string): Date {
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?(Z|[+-]\d\d:?\d\d)?$/i.exec(text.trim());
  if (!m) throw new Error(`Invalid isoformat string: '${text}'`);
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '0', zone] = m;
  const date = new Date(Date.UTC(2000, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), Math.floor(Number(frac.padEnd(6, '0')) / 1000)));
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  if (date.getUTCDate() !== Number(d) || date.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) {
    throw new Error(`Invalid isoformat string: '${text}'`);
  }
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d\d):?(\d\d)$/.exec(zone);
    if (z) date.setTime(date.getTime() - (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) * 60_000);
  }
  return date;
}

/** `macros.*`: Airflow's airflow.macros (ds_add, ds_format) plus the datetime/uuid/time helpers it re-exports. */
export function buildMacros(): Record<string, unknown> {
  return {
    ds_add(...args: unknown[]): string {
      const b = bindArgs('ds_add', ['ds', 'days'], args);
      const ds = String(b.ds);
      const days = b.days;
      if (!days) return ds;
      const n = num('ds_add', 'days', days);
      return fmtDs(new Date(strptime(ds, '%Y-%m-%d').getTime() + n * 86_400_000));
    },
    ds_format(...args: unknown[]): string {
      const b = bindArgs('ds_format', ['ds', 'input_format', 'output_format'], args);
      return strftime(strptime(String(b.ds), String(b.input_format)), String(b.output_format));
    },
    datetime: {
      now: (): TemplateDateTime => new TemplateDateTime(new Date()),
      utcnow: (): TemplateDateTime => new TemplateDateTime(new Date()),
      strptime: (s: unknown, f: unknown): TemplateDateTime => new TemplateDateTime(strptime(String(s), String(f))),
      fromisoformat: (s: unknown): TemplateDateTime => new TemplateDateTime(parseIsoDateTime(String(s))),
      fromtimestamp: (ts: unknown): TemplateDateTime => new TemplateDateTime(new Date(num('fromtimestamp', 'timestamp', ts) * 1000)),
    },
    uuid: { uuid4: (): string => randomUUID() },
    time: { time: (): number => Date.now() / 1000 },
    toString: (): string => '<macros>',
  };
}

// --- the context --------------------------------------------------------------------------------------

export function buildTemplateContext(input: TemplateContextInput): Record<string, unknown> {
  const logical = new TemplateDateTime(input.logicalDate);
  const start = new TemplateDateTime(input.dataIntervalStart);
  const end = new TemplateDateTime(input.dataIntervalEnd);
  const dag = new DagView(input.dagId);
  const task = new TaskView(input.taskId, dag);
  const ti = new TaskInstanceView(input, task, logical);
  const dagRun = new DagRunView(input, { logical, start, end });
  const ld = input.logicalDate;
  const ds = fmtDs(ld);
  const dayMs = 86_400_000;

  const context: Record<string, unknown> = {
    dag,
    task,
    ti,
    task_instance: ti,
    run_id: input.runId,
    dag_run: dagRun,
    params: input.params ?? {},
    var: {
      value: new VariableAccessor(false, input.getVariable),
      json: new VariableAccessor(true, input.getVariable),
    },
    conn: new ConnectionAccessor(input.getConnection),
    macros: buildMacros(),
    ds,
    ds_nodash: dsNodash(ld),
    ts: isoUtc(ld),
    ts_nodash: tsNodash(ld),
    ts_nodash_with_tz: tsNodashWithTz(ld),
    logical_date: logical,
    // Deprecated in Airflow 2.2 but still everywhere in real DAGs.
    execution_date: logical,
    data_interval_start: start,
    data_interval_end: end,
    task_instance_key_str: `${input.dagId}__${input.taskId}__${dsNodash(ld)}`,
    yesterday_ds: fmtDs(new Date(ld.getTime() - dayMs)),
    yesterday_ds_nodash: dsNodash(new Date(ld.getTime() - dayMs)),
    tomorrow_ds: fmtDs(new Date(ld.getTime() + dayMs)),
    tomorrow_ds_nodash: dsNodash(new Date(ld.getTime() + dayMs)),
  };
  return input.extra ? { ...context, ...input.extra } : context;
}

/** The instant behind a template date value (TemplateDateTime or Date), or null. */
export function templateDateValue(value: unknown): Date | null {
  if (value instanceof TemplateDateTime) return value.toDate();
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  return null;
}
