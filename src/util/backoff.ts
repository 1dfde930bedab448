/**
 * Exponential backoff with "equal jitter" (half fixed, half random), shared by every retry loop
 * that talks to a remote service: the SQS long poll, the reconcile sweeps, event-source resubscribes.
 */
export function backoffDelayMs(attempt: number, opts: { baseMs: number; maxMs: number; random?: () => number }): number {
  const cap = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + ((opts.random ?? Math.random)() * cap) / 2);
}

/** Resolves after `ms` (at once when the signal aborts); never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    t.unref?.();
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
