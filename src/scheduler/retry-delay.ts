/**
 * How long a failed task waits before its next try — Airflow 2.x's
 * `TaskInstance.next_retry_datetime`, minus the `end_date +` (the caller adds the delay to the
 * failure time).
 */
import { createHash } from 'node:crypto';

/** Airflow's `[core] max_task_retry_delay` default: no exponential delay grows past one day. */
export const MAX_RETRY_DELAY_MS = 86_400_000;

export interface NextRetryDelayArgs {
  retryDelayMs: number;
  exponentialBackoff: boolean;
  /** The operator's max_retry_delay; only applied with exponential backoff, as in Airflow. */
  maxRetryDelayMs?: number | null;
  /** 1-based number of the try that just failed (Airflow 2.10's meaning of `try_number`). */
  tryNumber: number;
  /** Seed of the deterministic jitter; see retryJitterKey. */
  jitterKey: string;
}

/**
 * Airflow hashes `f"{dag_id}#{task_id}#{execution_date}#{try_number}"`, where the date is Python's
 * `str(datetime)` (`2025-04-09 00:00:00+00:00`). Building the same key keeps our jitter
 * reproducible and comparable with an Airflow deployment's.
 */
export function retryJitterKey(a: { dagId: string; taskId: string; logicalDate: Date; tryNumber: number }): string {
  const d = a.logicalDate;
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const us = d.getUTCMilliseconds() * 1000;
  const when =
    `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${us ? `.${p(us, 6)}` : ''}+00:00`;
  return `${a.dagId}#${a.taskId}#${when}#${a.tryNumber}`;
}

export function nextRetryDelayMs(a: NextRetryDelayArgs): number {
  if (!Number.isFinite(a.retryDelayMs) || a.retryDelayMs < 0) {
    throw new Error(`retryDelayMs must be a finite non-negative number, got ${a.retryDelayMs}`);
  }
  if (!a.exponentialBackoff) return a.retryDelayMs;
  if (!Number.isInteger(a.tryNumber) || a.tryNumber < 1) {
    throw new Error(`tryNumber must be a positive integer, got ${a.tryNumber}`);
  }

  // Airflow works in whole seconds here: min_backoff = ceil(delay_s * 2^(try_number - 1)), at least 1.
  // (Airflow ≤2.9 wrote 2^(try_number - 2) because its try_number already pointed at the *next*
  // try while up_for_retry; both give `delay` for the first retry.)
  const delaySeconds = a.retryDelayMs / 1000;
  const exponent = a.tryNumber - 1;
  // 2^exponent overflows to Infinity past ~1024; the cap below makes huge values irrelevant anyway.
  const raw = Math.ceil(delaySeconds * 2 ** Math.min(exponent, 1024));
  const capSeconds = MAX_RETRY_DELAY_MS / 1000;
  let minBackoff = Number.isFinite(raw) ? raw : capSeconds * 2;
  if (minBackoff < 1) minBackoff = 1;

  // Deterministic jitter in [min_backoff, 2*min_backoff): sha1 of the key as a 160-bit integer, mod min_backoff.
  const hash = BigInt(`0x${createHash('sha1').update(a.jitterKey, 'utf8').digest('hex')}`);
  const modded =
    minBackoff > capSeconds * 2
      ? capSeconds * 2 // already past the cap; skip BigInt(huge) and keep it over the cap
      : minBackoff + Number(hash % BigInt(minBackoff));

  let delayMs = Math.min(modded, capSeconds) * 1000;
  if (a.maxRetryDelayMs) delayMs = Math.min(a.maxRetryDelayMs, delayMs);
  return delayMs;
}
