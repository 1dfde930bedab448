import { describe, expect, it } from 'vitest';
import { MAX_RETRY_DELAY_MS, nextRetryDelayMs, retryJitterKey } from '../../../src/scheduler/retry-delay.ts';

const ld = new Date('2025-04-09T00:00:00Z');
const key = (tryNumber: number, dagId = 'dag', taskId = 'task', logicalDate = ld): string => retryJitterKey({ dagId, taskId, logicalDate, tryNumber });

describe('retryJitterKey', () => {
  it("matches Airflow's f'{dag_id}#{task_id}#{execution_date}#{try_number}'", () => {
    expect(key(1)).toBe('dag#task#2025-04-09 00:00:00+00:00#1');
    expect(key(4, 'd', 't', new Date('2025-04-09T00:00:00.123Z'))).toBe('d#t#2025-04-09 00:00:00.123000+00:00#4');
  });
});

describe('nextRetryDelayMs', () => {
  it('without backoff returns retry_delay unchanged (max_retry_delay is ignored, as in Airflow)', () => {
    expect(nextRetryDelayMs({ retryDelayMs: 300_000, exponentialBackoff: false, tryNumber: 5, jitterKey: 'x', maxRetryDelayMs: 1000 })).toBe(300_000);
  });

  // Expected values computed with Python: min_backoff + int(sha1(key).hexdigest(), 16) % min_backoff.
  it.each([
    [1, 575], // min_backoff 300
    [2, 618], // min_backoff 600
    [3, 1927], // min_backoff 1200
  ])('exponential backoff, try %i → %i s (same jitter as Airflow)', (tryNumber, seconds) => {
    expect(nextRetryDelayMs({ retryDelayMs: 300_000, exponentialBackoff: true, tryNumber, jitterKey: key(tryNumber) })).toBe(seconds * 1000);
  });

  it('rounds fractional seconds up before doubling', () => {
    // ceil(1.5 * 2^3) = 12 → 12 + hash % 12 = 14
    expect(
      nextRetryDelayMs({ retryDelayMs: 1500, exponentialBackoff: true, tryNumber: 4, jitterKey: key(4, 'd', 't', new Date('2025-04-09T00:00:00.123Z')) }),
    ).toBe(14_000);
  });

  it('stays within [delay*2^(n-1), delay*2^n)', () => {
    for (let n = 1; n <= 8; n++) {
      const ms = nextRetryDelayMs({ retryDelayMs: 10_000, exponentialBackoff: true, tryNumber: n, jitterKey: key(n) });
      expect(ms).toBeGreaterThanOrEqual(10_000 * 2 ** (n - 1));
      expect(ms).toBeLessThan(10_000 * 2 ** n);
    }
  });

  it('is deterministic per key', () => {
    const a = { retryDelayMs: 60_000, exponentialBackoff: true, tryNumber: 3, jitterKey: key(3) };
    expect(nextRetryDelayMs(a)).toBe(nextRetryDelayMs({ ...a }));
  });

  it('a zero delay still waits at least one second', () => {
    expect(nextRetryDelayMs({ retryDelayMs: 0, exponentialBackoff: true, tryNumber: 1, jitterKey: 'k' })).toBe(1000);
  });

  it('caps at 24h, and at max_retry_delay when set', () => {
    expect(nextRetryDelayMs({ retryDelayMs: 300_000, exponentialBackoff: true, tryNumber: 30, jitterKey: key(30) })).toBe(MAX_RETRY_DELAY_MS);
    expect(nextRetryDelayMs({ retryDelayMs: 300_000, exponentialBackoff: true, tryNumber: 5000, jitterKey: key(5000) })).toBe(MAX_RETRY_DELAY_MS);
    expect(nextRetryDelayMs({ retryDelayMs: 300_000, exponentialBackoff: true, tryNumber: 10, jitterKey: key(10), maxRetryDelayMs: 3_600_000 })).toBe(
      3_600_000,
    );
    // max_retry_delay above the computed delay changes nothing
    expect(nextRetryDelayMs({ retryDelayMs: 300_000, exponentialBackoff: true, tryNumber: 1, jitterKey: key(1), maxRetryDelayMs: 3_600_000 })).toBe(575_000);
    // null / 0 mean "not set", as Airflow's falsy check
    expect(nextRetryDelayMs({ retryDelayMs: 300_000, exponentialBackoff: true, tryNumber: 1, jitterKey: key(1), maxRetryDelayMs: null })).toBe(575_000);
  });

  it('rejects nonsense input', () => {
    expect(() => nextRetryDelayMs({ retryDelayMs: -1, exponentialBackoff: false, tryNumber: 1, jitterKey: 'k' })).toThrow(/retryDelayMs/);
    expect(() => nextRetryDelayMs({ retryDelayMs: 1000, exponentialBackoff: true, tryNumber: 0, jitterKey: 'k' })).toThrow(/tryNumber/);
  });
});
