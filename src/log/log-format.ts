/**
 * The process log formats and the setting that picks one. Its own module, free of pino, so the
 * CLI can declare `--log-format` without loading the logger (`deferflow --help` stays fast).
 */

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The environment variable naming the default format. */
export const LOG_FORMAT_ENV = 'DEFERFLOW_LOG_FORMAT';

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
