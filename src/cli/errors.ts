/**
 * How a failed command reports: `Error [CODE]: message` and a `Hint:` line on stderr (or one JSON
 * object with `--output json`), then the code's exit status from the error catalogue
 * (src/errors/error-codes.ts) — 2 for bad input, 1 for everything else.
 * Messages pass through the secret masker so a connection password inside an error never prints.
 */
import { CommanderError } from 'commander';
import { DeferflowError, errorMessage } from '../errors/deferflow-error.ts';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors/error-codes.ts';
import { maskSecrets } from '../connections/secret-masker.ts';
import type { Writer } from './output/writer.ts';
import type { OutputFormat } from './output/output-format.ts';
import { EXIT_FAILURE, EXIT_USAGE } from './exit-codes.ts';

export { EXIT_FAILURE, EXIT_USAGE } from './exit-codes.ts';

export interface ReportedError {
  code: ErrorCode;
  message: string;
  hint?: string;
  exitCode: number;
}

export function describeError(e: unknown): ReportedError {
  if (e instanceof DeferflowError) {
    return { code: e.code, message: e.message, hint: e.hint, exitCode: ERROR_CATALOGUE[e.code].exit };
  }
  if (e instanceof CommanderError) {
    return {
      code: 'INVALID_INPUT',
      message: e.message.replace(/^error: /, ''),
      hint: 'Run the command with --help to see its arguments and options.',
      exitCode: EXIT_USAGE,
    };
  }
  const code = (e as { code?: unknown })?.code;
  if (code === 'ECONNREFUSED' || (e instanceof Error && e.name === 'MongoServerSelectionError')) {
    return {
      code: 'CONFIG_ERROR',
      message: `Cannot reach MongoDB: ${errorMessage(e)}`,
      hint: 'Check MONGODB_URI and that the server is running.',
      exitCode: EXIT_FAILURE,
    };
  }
  return {
    code: 'INTERNAL_ERROR',
    message: errorMessage(e),
    hint: 'This looks like a bug in deferflow; rerun with DEFERFLOW_LOG_LEVEL=debug and report it.',
    exitCode: EXIT_FAILURE,
  };
}

export function reportError(w: Writer, format: OutputFormat, e: unknown): number {
  const r = describeError(e);
  const message = maskSecrets(r.message);
  const hint = r.hint ? maskSecrets(r.hint) : undefined;
  if (format === 'json') {
    w.err(JSON.stringify({ error: { code: r.code, message, ...(hint ? { hint } : {}) } }));
  } else {
    w.err(`Error [${r.code}]: ${message}`);
    if (hint) w.err(`Hint: ${hint}`);
  }
  // The stack (and its causes') only when asked for: at debug level, or with DEFERFLOW_DEBUG.
  const level = process.env.DEFERFLOW_LOG_LEVEL;
  if ((process.env.DEFERFLOW_DEBUG || level === 'debug' || level === 'trace') && e instanceof Error) w.err(maskSecrets(stackWithCauses(e)));
  return r.exitCode;
}

function stackWithCauses(e: Error): string {
  const parts: string[] = [];
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) parts.push(`${depth ? 'Caused by: ' : ''}${c.stack ?? c.message}`);
  return parts.join('\n');
}
