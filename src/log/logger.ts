/**
 * Process logger (pino). Two formats: `pretty` (the default: one human line per record — time,
 * level, component, message, a few key=value fields; see console-line.ts) and `json` (pino's JSON
 * lines, every field, for log shippers). The format comes from the caller (the CLI's
 * `--log-format` / DEFERFLOW_LOG_FORMAT setting), else DEFERFLOW_LOG_FORMAT, else `pretty`.
 * pino-pretty formats in-process (no worker thread) and lines are written synchronously, so
 * short-lived commands never lose their last lines.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { componentOf, consoleLine, PRETTY_HIDDEN_KEYS } from './console-line.ts';

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The environment variable naming the default format. */
export const LOG_FORMAT_ENV = 'DEFERFLOW_LOG_FORMAT';

export interface CreateLoggerOptions {
  level?: LevelWithSilent | string;
  /** Default: DEFERFLOW_LOG_FORMAT, else `pretty`. */
  format?: LogFormat;
  name?: string;
  /** Where lines go (default stdout). Tests pass a stream to capture output. */
  destination?: { write(line: string): unknown };
}

export function isLogFormat(v: unknown): v is LogFormat {
  return typeof v === 'string' && (LOG_FORMATS as readonly string[]).includes(v);
}

/** DEFERFLOW_LOG_FORMAT, checked: a typo fails at start naming the variable, not silently. */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): LogFormat | undefined {
  const v = env[LOG_FORMAT_ENV]?.trim();
  if (v === undefined || v === '') return undefined;
  if (!isLogFormat(v)) throw new Error(`${LOG_FORMAT_ENV}: must be one of ${LOG_FORMATS.join(', ')} (got ${JSON.stringify(v)})`);
  return v;
}

export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.DEFERFLOW_LOG_LEVEL ?? 'info';
  const format = opts.format ?? logFormatFromEnv() ?? 'pretty';
  const base = { level, name: opts.name, base: { pid: process.pid } };
  if (format === 'json') return opts.destination ? pino(base, opts.destination) : pino(base);

  const target = opts.destination ?? process.stdout;
  const tty = (target as { isTTY?: boolean }).isTTY === true;
  const verbose = pino.levels.values[level] !== undefined && pino.levels.values[level] <= pino.levels.values.debug;
  // Formatted in this process, written synchronously (stdout and pipes are synchronous on Linux).
  const prettify = prettyFactory({
    colorize: tty && !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    // Fields the line shows itself (or that only a log shipper wants) stay off it; `json` has them all.
    ignore: PRETTY_HIDDEN_KEYS.join(','),
    hideObject: true,
    // pino-pretty prints `(name)` after the level: show the record's component there instead.
    customPrettifiers: { name: (name, _key, log) => componentOf(log as Record<string, unknown>) ?? String(name) },
    messageFormat: (log, messageKey, _levelLabel, extras) => consoleLine(log, messageKey, { verbose, colors: extras?.colors }),
  });
  return pino(base, { write: (line: string) => void target.write(prettify(line)) });
}

export type { Logger } from 'pino';
