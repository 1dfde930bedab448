import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../../src/util/backoff.ts';
import { isThrottling as isThrottlingError } from '../../../src/providers/aws/aws-errors.ts';

describe('backoff', () => {
  it('grows exponentially with jitter and is capped', () => {
    const at = (n: number, r: number) => backoffDelayMs(n, { baseMs: 100, maxMs: 1000, random: () => r });
    expect([at(1, 0), at(1, 1)]).toEqual([50, 100]);
    expect([at(3, 0), at(3, 1)]).toEqual([200, 400]);
    expect(at(10, 1)).toBe(1000);
  });

  it('recognises AWS throttling errors by name', () => {
    expect(isThrottlingError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))).toBe(true);
    expect(isThrottlingError(new Error('x'))).toBe(false);
  });
});
