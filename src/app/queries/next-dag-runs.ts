/**
 * When a DAG's next scheduled runs are due (`dags next-execution`, `dags details`): the
 * timetable walked forward from the DAG's cursor — the data interval of its latest scheduled run,
 * as the scheduler recorded it — exactly as the scheduler will walk it (same function, same
 * catchup rule), so what this prints is what the scheduler creates. Reads nothing itself.
 */
import { describeSchedule, nextDagRunInfo, type DagRunInfo, type DataInterval, type Schedule } from '../../dag/timetable.ts';
import type { DagDoc } from '../../store/schema.ts';

export interface ScheduleFacts {
  schedule: Schedule;
  startDate: Date | null;
  endDate: Date | null;
  catchup: boolean;
  /** The data interval of the latest scheduled run (null: none yet). */
  lastAutomatedDataInterval: DataInterval | null;
}

/** The schedule facts of a recorded DAG. */
export function scheduleFactsOf(doc: DagDoc): ScheduleFacts {
  const start = doc.last_automated_data_interval_start;
  const end = doc.last_automated_data_interval_end;
  return {
    schedule: doc.schedule,
    startDate: doc.start_date,
    endDate: doc.end_date,
    catchup: doc.catchup,
    lastAutomatedDataInterval: start && end ? { start, end } : null,
  };
}

/**
 * The next `count` scheduled runs (fewer when the schedule ends: `@once` done, a null schedule,
 * past end_date, or a DAG without a start date, which the scheduler never schedules).
 */
export function nextScheduledRuns(facts: ScheduleFacts, count: number, now: Date = new Date()): DagRunInfo[] {
  const out: DagRunInfo[] = [];
  if (facts.startDate === null) return out;
  let cursor = facts.lastAutomatedDataInterval;
  for (let i = 0; i < count; i++) {
    const info = nextDagRunInfo({
      schedule: facts.schedule,
      startDate: facts.startDate,
      endDate: facts.endDate,
      catchup: facts.catchup,
      lastAutomatedDataInterval: cursor,
      now,
    });
    if (!info) break;
    out.push(info);
    cursor = info.dataInterval;
  }
  return out;
}

/** Airflow's `timetable_description` of a schedule ("At 00:00", "Never, external triggers only"…). */
export function timetableDescription(schedule: Schedule): string {
  return describeSchedule(schedule);
}
