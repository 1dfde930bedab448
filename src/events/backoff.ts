/** Exponential backoff with "equal jitter" (half fixed, half random), shared by SQS polling and sweeps. */
export function backoffDelayMs(attempt: number, opts: { baseMs: number; maxMs: number; random?: () => number }): number {
  const cap = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + ((opts.random ?? Math.random)() * cap) / 2);
}

/** AWS throttling error codes (SDK v3 exposes them as `name`). */
export function isThrottlingError(e: unknown): boolean {
  const name = (e as { name?: string; Code?: string } | null)?.name ?? (e as { Code?: string } | null)?.Code;
  return (
    name === 'ThrottlingException' ||
    name === 'Throttling' ||
    name === 'TooManyRequestsException' ||
    name === 'RequestLimitExceeded' ||
    name === 'ProvisionedThroughputExceededException'
  );
}
