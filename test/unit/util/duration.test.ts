import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/util/duration.ts';

describe('parseDuration', () => {
  it.each([
    [300, 300_000],
    [0.5, 500],
    [0, 0],
    ['300', 300_000],
    ['300ms', 300],
    ['5s', 5_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['5 minutes', 300_000],
    ['2 hrs 1 sec', 7_201_000],
    ['PT5M', 300_000],
    ['PT0.5S', 500],
    ['P1DT2H', 93_600_000],
    ['pt1h', 3_600_000],
    ['P2W', 1_209_600_000],
    ['0:05:00', 300_000],
    ['1 day, 2:00:00', 93_600_000],
    ['0:00:01.500000', 1_500],
    [{ minutes: 5 }, 300_000],
    [{ days: 1, hours: 2, minutes: 3, seconds: 4, milliseconds: 5 }, 93_784_005],
  ] as const)('%j → %i ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['', /empty string/],
    ['5 parsecs', /unknown unit "parsecs"/],
    ['five minutes', /cannot read/],
    ['P1M', /ISO-8601/],
    ['PT', /ISO-8601/],
    [-1, /negative/],
    [Number.NaN, /finite/],
    [{ minute: 5 }, /unknown key "minute"/],
    [{}, /no component/],
    [{ seconds: '5' }, /seconds must be a finite number/],
  ] as const)('rejects %j', (input, msg) => {
    expect(() => parseDuration(input as never)).toThrow(msg);
  });

  it('names the bad value and the accepted forms', () => {
    expect(() => parseDuration('10 fortnights')).toThrow(/Invalid duration "10 fortnights".*accepted forms: a number of seconds/);
  });

  it('rejects other types', () => {
    expect(() => parseDuration(null as never)).toThrow(/Invalid duration null/);
    expect(() => parseDuration([5] as never)).toThrow(/Invalid duration \[5\]/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [300, '300ms'],
    [5_000, '5s'],
    [65_000, '1m 5s'],
    [65_250, '1m 5.25s'],
    [3_600_000, '1h'],
    [93_784_000, '1d 2h 3m 4s'],
    [-5_000, '-5s'],
  ])('%i → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
  it('round-trips through parseDuration for whole units', () => {
    for (const ms of [300, 5_000, 65_000, 93_784_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
