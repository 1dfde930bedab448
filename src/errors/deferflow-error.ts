/**
 * Root of deferflow's failure hierarchy. Every error we raise on purpose carries a stable `code`
 * from the catalogue (error-codes.ts) so the CLI, the API (RFC 7807 `type`) and tests can tell
 * failures apart without parsing messages.
 */
import type { ErrorCode } from './error-codes.ts';

export class DeferflowError extends Error {
  readonly code: ErrorCode;
  /** Hint for the person who has to fix it; shown by the CLI and the API. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isDeferflowError(e: unknown): e is DeferflowError {
  return e instanceof DeferflowError;
}

/** Best-effort human message of anything thrown. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}
