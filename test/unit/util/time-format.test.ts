import { describe, expect, it } from 'vitest';
import { ds, dsNodash, isoUtc, strftime, strptime, tsNodash, tsNodashWithTz } from '../../../src/util/time-format.ts';

const d = (s: string): Date => new Date(s);

describe('strftime (expected strings produced by CPython on Linux)', () => {
  const t = d('2025-04-09T13:05:07.005Z');
  it('common directives', () => {
    expect(strftime(t, '%Y %m %d %H %M %S %f %y %j %a %A %b %B %p %Z %z %% %e %I')).toBe(
      '2025 04 09 13 05 07 005000 25 099 Wed Wednesday Apr April PM UTC +0000 %  9 01',
    );
  });
  it('week numbers and composite directives', () => {
    expect(strftime(t, '%U %W %V %G %u %w %c %x %X %D %F %T %R')).toBe(
      '14 14 15 2025 3 3 Wed Apr  9 13:05:07 2025 04/09/25 13:05:07 04/09/25 2025-04-09 13:05:07 13:05',
    );
    expect(strftime(d('2024-01-01T00:00:00Z'), '%U %W %V %G %j')).toBe('00 01 01 2024 001');
    expect(strftime(d('2021-01-03T00:00:00Z'), '%U %W %V %G %j %a')).toBe('01 00 53 2020 003 Sun');
  });
  it('12-hour clock edges', () => {
    expect(strftime(d('2025-04-09T00:30:00Z'), '%I %p')).toBe('12 AM');
    expect(strftime(d('2025-04-09T12:30:00Z'), '%I %p')).toBe('12 PM');
  });
  it('copies unknown directives and a trailing % through', () => {
    expect(strftime(t, '%Q-%')).toBe('%Q-%');
  });
  it('rejects an invalid date', () => {
    expect(() => strftime(new Date('nope'), '%Y')).toThrow(/valid Date/);
  });
});

describe('Airflow date strings', () => {
  const t = d('2025-04-09T00:00:00Z');
  it('ds / ds_nodash / ts / ts_nodash / ts_nodash_with_tz', () => {
    expect(ds(t)).toBe('2025-04-09');
    expect(dsNodash(t)).toBe('20250409');
    expect(isoUtc(t)).toBe('2025-04-09T00:00:00+00:00');
    expect(tsNodash(t)).toBe('20250409T000000');
    expect(tsNodashWithTz(t)).toBe('20250409T000000+0000');
  });
  it('sub-second values print microseconds like Python isoformat', () => {
    const u = d('2025-04-09T00:00:00.005Z');
    expect(isoUtc(u)).toBe('2025-04-09T00:00:00.005000+00:00');
    expect(tsNodash(u)).toBe('20250409T000000');
    expect(tsNodashWithTz(u)).toBe('20250409T000000.005000+0000');
  });
});

describe('strptime (Python semantics)', () => {
  it('parses lenient single-digit fields', () => {
    expect(strptime('1/5/2015', '%m/%d/%Y')).toEqual(d('2015-01-05T00:00:00Z'));
  });
  it('month names, 2-digit years, 12-hour clock', () => {
    expect(strptime('09 Apr 25 01:02:03 PM', '%d %b %y %I:%M:%S %p')).toEqual(d('2025-04-09T13:02:03Z'));
    expect(strptime('april 9 1970', '%B %d %Y')).toEqual(d('1970-04-09T00:00:00Z'));
    expect(strptime('69', '%y').getUTCFullYear()).toBe(1969);
    expect(strptime('68', '%y').getUTCFullYear()).toBe(2068);
  });
  it('fractions and offsets (normalised to UTC)', () => {
    expect(strptime('2025-04-09T10:00:00.5+0200', '%Y-%m-%dT%H:%M:%S.%f%z')).toEqual(d('2025-04-09T08:00:00.500Z'));
    expect(strptime('2025-04-09 10:00 UTC', '%Y-%m-%d %H:%M %Z')).toEqual(d('2025-04-09T10:00:00Z'));
  });
  it('day of year and defaults', () => {
    expect(strptime('2025 100', '%Y %j')).toEqual(d('2025-04-10T00:00:00Z'));
    expect(strptime('12:30', '%H:%M')).toEqual(d('1900-01-01T12:30:00Z'));
  });
  it('whitespace in the format matches any run of whitespace', () => {
    expect(strptime('2025-04-09    7', '%Y-%m-%d %H')).toEqual(d('2025-04-09T07:00:00Z'));
  });
  it('round-trips with strftime', () => {
    const t = d('2024-02-29T23:59:58.123Z');
    const fmt = '%Y-%m-%dT%H:%M:%S.%f';
    expect(strptime(strftime(t, fmt), fmt)).toEqual(t);
  });
  it("raises Python's errors", () => {
    expect(() => strptime('2025-02-30', '%Y-%m-%d')).toThrow('day is out of range for month');
    expect(() => strptime('2025-04-09x', '%Y-%m-%d')).toThrow('unconverted data remains: x');
    expect(() => strptime('x', '%Y')).toThrow("time data 'x' does not match format '%Y'");
    expect(() => strptime('2025', '%Q')).toThrow(/bad directive/);
  });
});
