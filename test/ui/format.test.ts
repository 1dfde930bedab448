/** The UI's duration format: rounding happens once, so no "3m 60s" (issue 13). */
import { describe, expect, it } from 'vitest';
import { fmtDuration } from '../../src/ui/app/dom.ts';

describe('fmtDuration', () => {
  it('never shows 60 seconds or 60 minutes', () => {
    expect(fmtDuration(239_600)).toBe('4m 0s');
    expect(fmtDuration(239_400)).toBe('3m 59s');
    expect(fmtDuration(59_960)).toBe('1m 0s');
    expect(fmtDuration(59_900)).toBe('59.9 s');
    expect(fmtDuration(3_599_600)).toBe('1h 0m');
    expect(fmtDuration(7_170_000)).toBe('2h 0m');
    expect(fmtDuration(950)).toBe('950 ms');
    expect(fmtDuration(null)).toBe('—');
  });
});
