/**
 * The synchronous wait (wait_for_completion without deferral): Describe every check_interval until
 * a terminal status, the task's abort signal, max_ingestion_time or an explicit max_attempts.
 * Transient errors (throttling left over after the SDK's adaptive retries, 5xx, resets) only
 * postpone the next poll; they never fail the task by themselves.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import { isTransient } from '../aws-errors.ts';
import type { Description } from './resources.ts';

export interface PollOptions {
  what: string; // "training job my-job", for messages
  describe(signal: AbortSignal): Promise<Description>;
  status(desc: Description): string;
  isTerminal(status: string): boolean;
  checkIntervalMs: number;
  /** Fail (without stopping the job) once it has run this long. */
  maxIngestionMs: number | null;
  /** Fail after this many polls (only when the user set max_attempts). */
  maxAttempts: number | null;
  signal: AbortSignal;
  log: Logger;
  /** After every successful Describe (e.g. copy new log lines). */
  onPoll?(desc: Description): Promise<void>;
}

export async function pollUntilTerminal(o: PollOptions): Promise<Description> {
  const started = Date.now();
  let attempts = 0;
  let lastStatus = '';
  for (;;) {
    o.signal.throwIfAborted();
    let desc: Description | null = null;
    try {
      desc = await o.describe(o.signal);
    } catch (e) {
      if (o.signal.aborted) throw o.signal.reason;
      if (!isTransient(e)) throw e;
      o.log.warn(`Describe of ${o.what} failed transiently (${(e as Error).name}); polling again in ${o.checkIntervalMs} ms`);
    }
    if (desc) {
      if (o.onPoll) await o.onPoll(desc);
      const status = o.status(desc);
      const secondary = typeof desc.SecondaryStatus === 'string' ? ` - ${desc.SecondaryStatus}` : '';
      if (`${status}${secondary}` !== lastStatus) {
        lastStatus = `${status}${secondary}`;
        o.log.info(`${capitalize(o.what)}: ${lastStatus}`);
      }
      if (o.isTerminal(status)) return desc;
      attempts++;
      const elapsed = Date.now() - started;
      if (o.maxIngestionMs !== null && elapsed > o.maxIngestionMs) {
        throw new DeferflowError(
          'SAGEMAKER_JOB_FAILED',
          `SageMaker ${o.what} took more than ${o.maxIngestionMs / 1000} seconds (max_ingestion_time); it is still ${status} and was not stopped`,
        );
      }
      if (o.maxAttempts !== null && attempts >= o.maxAttempts) {
        throw new DeferflowError('SAGEMAKER_JOB_FAILED', `SageMaker ${o.what} is still ${status} after ${attempts} checks (max_attempts); it was not stopped`);
      }
    }
    await sleep(o.checkIntervalMs, undefined, { signal: o.signal }).catch((e: unknown) => {
      throw o.signal.aborted ? o.signal.reason : e;
    });
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
