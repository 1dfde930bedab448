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
import { logFormatFromEnv, type LogFormat } from './log-format.ts';

export { LOG_FORMATS, LOG_FORMAT_ENV, isLogFormat, logFormatFromEnv, type LogFormat } from './log-format.ts';

export interface CreateLoggerOptions {
  level?: LevelWithSilent | string;
  /** Default: DEFERFLOW_LOG_FORMAT, else `pretty`. */
  format?: LogFormat;
  name?: string;
  /** Where lines go (default stdout). Tests pass a stream to capture output. */
  destination?: { write(line: string): unknown };
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
