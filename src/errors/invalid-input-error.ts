import { DeferflowError } from './deferflow-error.ts';

/** Bad CLI/API input. `issues` are zod-style paths and messages that say what to fix. */
export class InvalidInputError extends DeferflowError {
  constructor(
    message: string,
    readonly issues: ReadonlyArray<{ path: string; message: string }> = [],
  ) {
    super('INVALID_INPUT', issues.length ? `${message}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}` : message);
  }
}
