import { DeferflowError } from './deferflow-error.ts';
import type { ErrorCode } from './error-codes.ts';

export class NotFoundError extends DeferflowError {
  constructor(code: Extract<ErrorCode, `${string}NOT_FOUND`>, message: string, hint?: string) {
    super(code, message, { hint });
  }
}
