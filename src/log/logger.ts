/**
 * Process logger (pino). JSON lines by default; human-readable through pino-pretty when stdout is
 * a terminal or `pretty: true`. pino-pretty runs in-process as a sync stream (no worker thread),
 * so short-lived CLI commands never lose their last lines.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export interface CreateLoggerOptions {
  level?: LevelWithSilent | string;
  pretty?: boolean;
  name?: string;
  /** Where lines go (default stdout). Tests pass a stream to capture output. */
  destination?: { write(line: string): unknown };
}

export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.DEFERFLOW_LOG_LEVEL ?? 'info';
  const usePretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const base = { level, name: opts.name, base: { pid: process.pid } };
  if (usePretty) {
    const stream = pretty({
      colorize: Boolean(process.stdout.isTTY) && !opts.destination,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      destination: opts.destination as NodeJS.WritableStream | undefined,
    });
    return pino(base, stream);
  }
  return opts.destination ? pino(base, opts.destination) : pino(base);
}

export type { Logger } from 'pino';
