/**
 * DAG callbacks (on_success_callback / on_failure_callback) of DAGs known only serialized: the
 * scheduler never imports DAG files, so the callback runs in a child process that imports the
 * file (same import timeout) and calls it — what Airflow does through its DAG processor.
 */
import type { DagCallbackRunner } from '../serialized-dag.ts';
import { DagFileChildProcess, isChildFailure } from './dag-file-child-process.ts';
import { failureError } from './dag-file-parser.ts';

export interface CallbackRunnerOptions {
  importTimeoutMs: number;
  /** How long the callback itself may run once imported (default 60 s). */
  callbackTimeoutMs?: number;
  folder?: string | null;
}

export function childProcessCallbackRunner(opts: CallbackRunnerOptions): DagCallbackRunner {
  return async ({ file, dagId, which, info }) => {
    const child = new DagFileChildProcess({ folders: opts.folder ? [opts.folder] : [] }, { startTimeoutMs: Math.max(opts.importTimeoutMs, 30_000) });
    try {
      const timeoutMs = opts.importTimeoutMs + (opts.callbackTimeoutMs ?? 60_000);
      const answer = await child.request({ kind: 'callback', file, dagId, which, info, timeoutMs }, timeoutMs);
      if (isChildFailure(answer)) throw new Error(failureError(file, answer).message);
      if (answer.kind === 'callback-done' && answer.error) throw new Error(answer.error);
    } finally {
      child.close();
    }
  };
}
