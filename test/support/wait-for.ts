/**
 * The one polling helper of the test suite: `poller({ timeoutMs, intervalMs })` returns
 * `waitFor(what, probe, timeoutMs?)`, which resolves with the probe's first truthy value or
 * throws `timed out waiting for <what>`. Files pick the defaults that suit what they wait on.
 */
export type Probe<T> = () => Promise<T | null | undefined | false> | T | null | undefined | false;

export function poller(defaults: { timeoutMs: number; intervalMs: number }) {
  return async function waitFor<T>(what: string, probe: Probe<T>, timeoutMs = defaults.timeoutMs): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v) return v as T;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, defaults.intervalMs));
    }
  };
}
