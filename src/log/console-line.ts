/**
 * The human console line (`--log-format pretty`, the default), after pino-pretty's time and level:
 *
 *   [21:04:05.123] INFO (scheduler): DAG run success  dag_id=sagemaker_pipeline state=success
 *   [21:04:07.456] WARN (worker): sagemaker_pipeline.train_model try 1: lease renewal failed  err="connection reset"
 *
 * `(…)` is the record's component (else the logger's name). A task's lines name the task; other
 * fields follow as key=value. An error shows its message inline and, at error level or when the
 * logger is at debug, its stack on the lines below. Everything else is in `--log-format json`.
 */

/** Fields pino-pretty drops before formatting (they are in every record and say little to a reader). */
export const PRETTY_HIDDEN_KEYS = ['pid', 'hostname'];

/**
 * Fields the line shows in its own place, not as key=value — and the ids a component binds to all
 * its lines (one process prints its own id once, at start; `json` keeps them on every line).
 */
const PLACED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'component', 'err', 'scheduler_id', 'worker_id', 'triggererId']);
/** …and on a task's lines, the task's identity (named once, in front of the message). */
const TASK_PLACED = new Set(['dag_id', 'run_id', 'task_id', 'map_index', 'try_number']);

/** Bare values print as is; anything with spaces, quotes or structure as JSON. */
const BARE = /^[\w.:/@+-]+$/;

interface Colors {
  gray(s: string): string;
  red(s: string): string;
}

export function componentOf(log: Record<string, unknown>): string | undefined {
  return typeof log.component === 'string' ? log.component : undefined;
}

function show(v: unknown): string {
  if (typeof v === 'string') return BARE.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

function taskLabel(log: Record<string, unknown>): string | null {
  if (typeof log.task_id !== 'string') return null;
  const dag = typeof log.dag_id === 'string' ? `${log.dag_id}.` : '';
  const mapped = typeof log.map_index === 'number' && log.map_index >= 0 ? `[${log.map_index}]` : '';
  const attempt = typeof log.try_number === 'number' ? ` try ${log.try_number}` : '';
  return `${dag}${log.task_id}${mapped}${attempt}`;
}

export function consoleLine(log: Record<string, unknown>, messageKey: string, opts: { verbose: boolean; colors?: Colors }): string {
  const parts: string[] = [];
  // Without a logger name pino-pretty prints no `(…)`: put the component in front instead.
  const component = componentOf(log);
  if (component && typeof log.name !== 'string') parts.push(`${component}:`);
  const task = taskLabel(log);
  if (task) parts.push(`${task}:`);
  const msg = log[messageKey];
  parts.push(typeof msg === 'string' ? msg : msg === undefined ? '' : show(msg));

  const fields: string[] = [];
  for (const [k, v] of Object.entries(log)) if (!PLACED.has(k) && !(task && TASK_PLACED.has(k)) && v !== undefined) fields.push(`${k}=${show(v)}`);
  const err = log.err as { message?: unknown; stack?: unknown; type?: unknown } | undefined;
  if (err && typeof err === 'object') fields.push(`err=${show(typeof err.message === 'string' ? err.message : (err.type ?? 'error'))}`);
  let line = parts.join(' ');
  if (fields.length) line += `  ${opts.colors ? opts.colors.gray(fields.join(' ')) : fields.join(' ')}`;

  const level = typeof log.level === 'number' ? log.level : 30;
  if (err && typeof err.stack === 'string' && (level >= 50 || opts.verbose)) {
    const stack = err.stack
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
    line += `\n${opts.colors ? opts.colors.red(stack) : stack}`;
  }
  return line;
}
