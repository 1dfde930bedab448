import { DeferflowError } from './deferflow-error.ts';

/** A DAG file (or a DAG in it) that cannot be loaded. Carries the file and line to fix. */
export class DagImportError extends DeferflowError {
  constructor(
    message: string,
    readonly location?: { file?: string; line?: number },
    options?: { cause?: unknown },
  ) {
    super('DAG_IMPORT_ERROR', location?.file ? `${message} (${location.file}${location.line ? `:${location.line}` : ''})` : message, options);
  }
}
