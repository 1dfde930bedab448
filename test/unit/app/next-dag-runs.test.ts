import { describe, expect, it } from 'vitest';
import { nextScheduledRuns, scheduleFactsOf, type ScheduleFacts } from '../../../src/app/queries/next-dag-runs.ts';
import type { DagDoc } from '../../../src/store/schema.ts';

const d = (s: string): Date => new Date(s);
const starts = (facts: ScheduleFacts, n: number, now: string): string[] => nextScheduledRuns(facts, n, d(now)).map((r) => r.dataInterval.start.toISOString());

describe('nextScheduledRuns', () => {
  const daily: ScheduleFacts = { schedule: '@daily', startDate: d('2025-04-01T00:00:00Z'), endDate: null, catchup: true, lastAutomatedDataInterval: null };

  it('walks the timetable from the cursor, as the scheduler will', () => {
    expect(starts(daily, 3, '2025-06-01T12:00:00Z')).toEqual(['2025-04-01T00:00:00.000Z', '2025-04-02T00:00:00.000Z', '2025-04-03T00:00:00.000Z']);
    const after = { ...daily, lastAutomatedDataInterval: { start: d('2025-05-01T00:00:00Z'), end: d('2025-05-02T00:00:00Z') } };
    expect(starts(after, 2, '2025-06-01T12:00:00Z')).toEqual(['2025-05-02T00:00:00.000Z', '2025-05-03T00:00:00.000Z']);
  });

  it('without catchup starts at the latest complete interval, then goes on from there', () => {
    expect(starts({ ...daily, catchup: false }, 3, '2025-06-01T12:00:00Z')).toEqual([
      '2025-05-31T00:00:00.000Z',
      '2025-06-01T00:00:00.000Z',
      '2025-06-02T00:00:00.000Z',
    ]);
  });

  it('stops where the schedule ends: end_date, @once done, no schedule, no start date', () => {
    expect(starts({ ...daily, endDate: d('2025-04-02T00:00:00Z') }, 5, '2025-06-01T00:00:00Z')).toEqual([
      '2025-04-01T00:00:00.000Z',
      '2025-04-02T00:00:00.000Z',
    ]);
    const once = { ...daily, schedule: '@once' };
    expect(starts(once, 3, '2025-06-01T00:00:00Z')).toEqual(['2025-04-01T00:00:00.000Z']);
    expect(
      starts({ ...once, lastAutomatedDataInterval: { start: d('2025-04-01T00:00:00Z'), end: d('2025-04-01T00:00:00Z') } }, 1, '2025-06-01T00:00:00Z'),
    ).toEqual([]);
    expect(starts({ ...daily, schedule: null }, 1, '2025-06-01T00:00:00Z')).toEqual([]);
    expect(starts({ ...daily, startDate: null }, 1, '2025-06-01T00:00:00Z')).toEqual([]);
  });

  it("reads a recorded DAG's schedule and cursor", () => {
    const facts = scheduleFactsOf({
      schedule: '0 6 * * *',
      start_date: d('2025-01-01T00:00:00Z'),
      end_date: null,
      catchup: false,
      last_automated_data_interval_start: d('2025-03-01T06:00:00Z'),
      last_automated_data_interval_end: d('2025-03-02T06:00:00Z'),
    } as DagDoc);
    expect(facts.lastAutomatedDataInterval).toEqual({ start: d('2025-03-01T06:00:00Z'), end: d('2025-03-02T06:00:00Z') });
    expect(nextScheduledRuns(facts, 1, d('2025-03-02T07:00:00Z'))[0]).toMatchObject({
      logicalDate: d('2025-03-02T06:00:00Z'),
      runAfter: d('2025-03-03T06:00:00Z'),
    });
  });
});
