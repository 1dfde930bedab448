import { describe, expect, it } from 'vitest';
import {
  describeSchedule,
  manualDataInterval,
  nextDagRunInfo,
  validateSchedule,
  type DagRunInfo,
  type DataInterval,
  type Schedule,
} from '../../../src/dag/timetable.ts';

const d = (s: string): Date => new Date(s);
const iso = (x: Date): string => x.toISOString();
const brief = (info: DagRunInfo | null): [string, string, string] | null =>
  info === null ? null : [iso(info.dataInterval.start), iso(info.dataInterval.end), iso(info.runAfter)];

/** Drive the timetable like the scheduler: create every run whose runAfter has passed. */
function dueRuns(args: { schedule: Schedule; startDate: Date; endDate?: Date | null; catchup: boolean; now: Date; last?: DataInterval | null }): DagRunInfo[] {
  const runs: DagRunInfo[] = [];
  let last = args.last ?? null;
  for (let i = 0; i < 1000; i++) {
    const info = nextDagRunInfo({ ...args, lastAutomatedDataInterval: last });
    if (info === null || info.runAfter.getTime() > args.now.getTime()) break;
    runs.push(info);
    last = info.dataInterval;
  }
  return runs;
}

const NOW = d('2025-04-09T10:30:00Z');
const FIVE_DAYS_AGO = d('2025-04-04T00:00:00Z');

describe('nextDagRunInfo — cron data intervals', () => {
  it('@daily, catchup=true, start 5 days ago: one run per elapsed day', () => {
    const runs = dueRuns({ schedule: '@daily', startDate: FIVE_DAYS_AGO, catchup: true, now: NOW });
    expect(runs.map((r) => iso(r.logicalDate))).toEqual([
      '2025-04-04T00:00:00.000Z',
      '2025-04-05T00:00:00.000Z',
      '2025-04-06T00:00:00.000Z',
      '2025-04-07T00:00:00.000Z',
      '2025-04-08T00:00:00.000Z',
    ]);
    for (const r of runs) {
      expect(r.logicalDate).toEqual(r.dataInterval.start);
      expect(r.runAfter).toEqual(r.dataInterval.end);
      expect(r.dataInterval.end.getTime() - r.dataInterval.start.getTime()).toBe(86_400_000);
    }
    // the next one is returned but not yet due
    const next = nextDagRunInfo({ schedule: '@daily', startDate: FIVE_DAYS_AGO, catchup: true, now: NOW, lastAutomatedDataInterval: runs[4].dataInterval });
    expect(brief(next)).toEqual(['2025-04-09T00:00:00.000Z', '2025-04-10T00:00:00.000Z', '2025-04-10T00:00:00.000Z']);
  });

  it('@daily, catchup=false: only the latest complete interval', () => {
    const runs = dueRuns({ schedule: '@daily', startDate: FIVE_DAYS_AGO, catchup: false, now: NOW });
    expect(runs.map(brief)).toEqual([['2025-04-08T00:00:00.000Z', '2025-04-09T00:00:00.000Z', '2025-04-09T00:00:00.000Z']]);
  });

  it('catchup=false skips a long gap after the last run', () => {
    const info = nextDagRunInfo({
      schedule: '@daily',
      startDate: d('2025-01-01T00:00:00Z'),
      catchup: false,
      now: NOW,
      lastAutomatedDataInterval: { start: d('2025-03-01T00:00:00Z'), end: d('2025-03-02T00:00:00Z') },
    });
    expect(brief(info)).toEqual(['2025-04-08T00:00:00.000Z', '2025-04-09T00:00:00.000Z', '2025-04-09T00:00:00.000Z']);
  });

  it('catchup=true resumes right after the last run', () => {
    const info = nextDagRunInfo({
      schedule: '@daily',
      startDate: d('2025-01-01T00:00:00Z'),
      catchup: true,
      now: NOW,
      lastAutomatedDataInterval: { start: d('2025-03-01T00:00:00Z'), end: d('2025-03-02T00:00:00Z') },
    });
    expect(brief(info)?.[0]).toBe('2025-03-02T00:00:00.000Z');
  });

  it('catchup=false exactly on a boundary takes the interval ending now', () => {
    const now = d('2025-04-09T00:00:00Z');
    const info = nextDagRunInfo({ schedule: '@daily', startDate: FIVE_DAYS_AGO, catchup: false, now, lastAutomatedDataInterval: null });
    expect(brief(info)).toEqual(['2025-04-08T00:00:00.000Z', '2025-04-09T00:00:00.000Z', '2025-04-09T00:00:00.000Z']);
  });

  it('catchup=false never goes before start_date (start in the future)', () => {
    const info = nextDagRunInfo({ schedule: '@daily', startDate: d('2025-05-01T12:00:00Z'), catchup: false, now: NOW, lastAutomatedDataInterval: null });
    expect(brief(info)).toEqual(['2025-05-02T00:00:00.000Z', '2025-05-03T00:00:00.000Z', '2025-05-03T00:00:00.000Z']);
  });

  it('@hourly with catchup true and false', () => {
    const start = d('2025-04-09T05:00:00Z');
    expect(dueRuns({ schedule: '@hourly', startDate: start, catchup: true, now: NOW }).map((r) => r.logicalDate.getUTCHours())).toEqual([5, 6, 7, 8, 9]);
    expect(dueRuns({ schedule: '@hourly', startDate: start, catchup: false, now: NOW }).map(brief)).toEqual([
      ['2025-04-09T09:00:00.000Z', '2025-04-09T10:00:00.000Z', '2025-04-09T10:00:00.000Z'],
    ]);
  });

  it('*/15 * * * *', () => {
    const runs = dueRuns({ schedule: '*/15 * * * *', startDate: d('2025-04-09T09:40:00Z'), catchup: true, now: NOW });
    expect(runs.map(brief)).toEqual([
      ['2025-04-09T09:45:00.000Z', '2025-04-09T10:00:00.000Z', '2025-04-09T10:00:00.000Z'],
      ['2025-04-09T10:00:00.000Z', '2025-04-09T10:15:00.000Z', '2025-04-09T10:15:00.000Z'],
      ['2025-04-09T10:15:00.000Z', '2025-04-09T10:30:00.000Z', '2025-04-09T10:30:00.000Z'],
    ]);
    const latest = dueRuns({ schedule: '*/15 * * * *', startDate: d('2025-04-01T00:00:00Z'), catchup: false, now: NOW });
    expect(latest.map(brief)).toEqual([['2025-04-09T10:15:00.000Z', '2025-04-09T10:30:00.000Z', '2025-04-09T10:30:00.000Z']]);
  });

  it('start_date not aligned to the cron is aligned to the next boundary', () => {
    const info = nextDagRunInfo({ schedule: '30 2 * * *', startDate: d('2025-04-04T06:30:00Z'), catchup: true, now: NOW, lastAutomatedDataInterval: null });
    expect(brief(info)).toEqual(['2025-04-05T02:30:00.000Z', '2025-04-06T02:30:00.000Z', '2025-04-06T02:30:00.000Z']);
  });

  it('end_date stops scheduling once the logical date passes it', () => {
    const runs = dueRuns({ schedule: '@daily', startDate: FIVE_DAYS_AGO, endDate: d('2025-04-06T00:00:00Z'), catchup: true, now: NOW });
    expect(runs.map((r) => iso(r.logicalDate))).toEqual(['2025-04-04T00:00:00.000Z', '2025-04-05T00:00:00.000Z', '2025-04-06T00:00:00.000Z']);
    expect(
      nextDagRunInfo({
        schedule: '@daily',
        startDate: FIVE_DAYS_AGO,
        endDate: d('2025-04-06T00:00:00Z'),
        catchup: true,
        now: NOW,
        lastAutomatedDataInterval: runs[2].dataInterval,
      }),
    ).toBeNull();
  });

  it('@monthly across a leap February, from a month-end start', () => {
    const runs = dueRuns({ schedule: '@monthly', startDate: d('2024-01-31T00:00:00Z'), catchup: true, now: d('2024-05-15T00:00:00Z') });
    expect(runs.map(brief)).toEqual([
      ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
      ['2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z'],
      ['2024-04-01T00:00:00.000Z', '2024-05-01T00:00:00.000Z', '2024-05-01T00:00:00.000Z'],
    ]);
  });

  it('last day of month (L) and 29 February', () => {
    const last = dueRuns({ schedule: '0 0 L * *', startDate: d('2024-01-15T00:00:00Z'), catchup: true, now: d('2024-03-31T00:00:00Z') });
    expect(last.map(brief)).toEqual([
      ['2024-01-31T00:00:00.000Z', '2024-02-29T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
      ['2024-02-29T00:00:00.000Z', '2024-03-31T00:00:00.000Z', '2024-03-31T00:00:00.000Z'],
    ]);
    const leap = nextDagRunInfo({ schedule: '0 0 29 2 *', startDate: d('2025-01-01T00:00:00Z'), catchup: true, now: NOW, lastAutomatedDataInterval: null });
    expect(brief(leap)).toEqual(['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z']);
  });

  it('a changed schedule re-aligns the previous end instead of producing a half interval', () => {
    // previously @daily, now hourly at :30
    const info = nextDagRunInfo({
      schedule: '30 * * * *',
      startDate: FIVE_DAYS_AGO,
      catchup: true,
      now: NOW,
      lastAutomatedDataInterval: { start: d('2025-04-08T00:00:00Z'), end: d('2025-04-09T00:00:00Z') },
    });
    expect(brief(info)).toEqual(['2025-04-08T23:30:00.000Z', '2025-04-09T00:30:00.000Z', '2025-04-09T00:30:00.000Z']);
  });

  it('day-of-month and day-of-week are OR-ed like croniter', () => {
    const runs = dueRuns({ schedule: '0 0 1 * 1', startDate: d('2025-04-25T00:00:00Z'), catchup: true, now: d('2025-05-13T00:00:00Z') });
    expect(runs.map((r) => iso(r.logicalDate).slice(0, 10))).toEqual(['2025-04-28', '2025-05-01', '2025-05-05']);
  });
});

describe('nextDagRunInfo — @once and null', () => {
  it('@once runs once at start_date with an empty interval, catchup or not', () => {
    for (const catchup of [true, false]) {
      const info = nextDagRunInfo({ schedule: '@once', startDate: FIVE_DAYS_AGO, catchup, now: NOW, lastAutomatedDataInterval: null });
      expect(info).toEqual({ logicalDate: FIVE_DAYS_AGO, dataInterval: { start: FIVE_DAYS_AGO, end: FIVE_DAYS_AGO }, runAfter: FIVE_DAYS_AGO });
      expect(nextDagRunInfo({ schedule: '@once', startDate: FIVE_DAYS_AGO, catchup, now: NOW, lastAutomatedDataInterval: info!.dataInterval })).toBeNull();
    }
  });
  it('@once after end_date never runs', () => {
    expect(
      nextDagRunInfo({
        schedule: '@once',
        startDate: FIVE_DAYS_AGO,
        endDate: d('2025-04-01T00:00:00Z'),
        catchup: true,
        now: NOW,
        lastAutomatedDataInterval: null,
      }),
    ).toBeNull();
  });
  it('null never schedules', () => {
    expect(nextDagRunInfo({ schedule: null, startDate: FIVE_DAYS_AGO, catchup: true, now: NOW, lastAutomatedDataInterval: null })).toBeNull();
  });
});

describe('manualDataInterval', () => {
  it('cron: the last complete interval before the trigger time', () => {
    const i = manualDataInterval('@daily', d('2025-04-25T01:00:00Z'));
    expect([iso(i.start), iso(i.end)]).toEqual(['2025-04-24T00:00:00.000Z', '2025-04-25T00:00:00.000Z']);
    const onBoundary = manualDataInterval('@daily', d('2025-04-25T00:00:00Z'));
    expect([iso(onBoundary.start), iso(onBoundary.end)]).toEqual(['2025-04-24T00:00:00.000Z', '2025-04-25T00:00:00.000Z']);
    const q = manualDataInterval('*/15 * * * *', d('2025-04-25T10:07:13Z'));
    expect([iso(q.start), iso(q.end)]).toEqual(['2025-04-25T09:45:00.000Z', '2025-04-25T10:00:00.000Z']);
  });
  it('@once and null: an empty interval at the logical date', () => {
    const t = d('2025-04-25T01:02:03Z');
    expect(manualDataInterval(null, t)).toEqual({ start: t, end: t });
    expect(manualDataInterval('@once', t)).toEqual({ start: t, end: t });
  });
});

describe('validateSchedule / describeSchedule', () => {
  it.each([null, '@once', '@daily', '@hourly', '@weekly', '@monthly', '@quarterly', '@yearly', '@annually', '*/5 * * * *', '0 0 * * MON-FRI', '0 0 L * *'])(
    'accepts %s',
    (s) => {
      expect(() => validateSchedule(s)).not.toThrow();
    },
  );
  it.each([
    ['61 * * * *', /Invalid schedule "61 \* \* \* \*".*minute/],
    ['* * * *', /expected 5 fields, got 4/],
    ['0 0 * * * *', /expected 5 fields, got 6/],
    ['@continuous', /not supported/],
    ['@sometimes', /unknown preset/],
    ['0 0 30 2 *', /never fires/],
    ['banana', /Invalid schedule "banana"/],
  ])('rejects %s', (s, msg) => {
    expect(() => validateSchedule(s)).toThrow(msg);
  });
  it('describes schedules for humans', () => {
    expect(describeSchedule('@daily')).toBe('At 00:00 UTC daily');
    expect(describeSchedule('0 0 * * *')).toBe('At 00:00 UTC daily');
    expect(describeSchedule('30 2 * * *')).toBe('At 02:30 UTC daily');
    expect(describeSchedule('*/15 * * * *')).toBe('Every 15 minutes');
    expect(describeSchedule('0 9 * * 1')).toBe('At 09:00 UTC on Monday, weekly');
    expect(describeSchedule(null)).toBe('Never, external triggers only');
    expect(describeSchedule('@once')).toBe('Once, as soon as possible');
    expect(describeSchedule('0 9 1-7 * 1')).toBe('0 9 1-7 * 1 (cron, UTC)');
  });
});
