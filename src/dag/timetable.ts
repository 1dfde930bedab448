/**
 * Schedules → DAG runs, with Airflow 2.x's timetable semantics (all in UTC):
 *
 * - a cron schedule (or preset) is a CronDataIntervalTimetable: the run for data interval
 *   [start, end) has logical_date = start and becomes runnable at `end`;
 * - `@once` is OnceTimetable: one run at start_date, data interval start = end = start_date;
 * - `null` is NullTimetable: never scheduled, manual triggers only.
 *
 * Cron iteration is croner's; the interval logic (align, skip-to-latest, catchup) follows
 * airflow/timetables/interval.py and _cron.py with `catchup_false_no_dagrun_airflow_2_fix` off,
 * i.e. the behaviour of a stock Airflow 2 installation.
 */
import { Cron } from 'croner';

export type Schedule = string | null;

export interface DataInterval {
  start: Date;
  end: Date;
}

export interface DagRunInfo {
  logicalDate: Date;
  dataInterval: DataInterval;
  runAfter: Date;
}

/** Airflow's `cron_presets` (airflow/utils/dates.py) plus the aliases croniter accepts. */
const CRON_PRESETS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@quarterly': '0 0 1 */3 *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

const PRESET_DESCRIPTIONS: Record<string, string> = {
  '@hourly': 'At minute 0 of every hour (UTC)',
  '@daily': 'At 00:00 UTC daily',
  '@midnight': 'At 00:00 UTC daily',
  '@weekly': 'At 00:00 UTC on Sunday, weekly',
  '@monthly': 'At 00:00 UTC on day 1 of every month',
  '@quarterly': 'At 00:00 UTC on day 1 of January, April, July and October',
  '@yearly': 'At 00:00 UTC on January 1st, yearly',
  '@annually': 'At 00:00 UTC on January 1st, yearly',
};

const UNSUPPORTED_PRESETS: Record<string, string> = {
  '@continuous': '@continuous (ContinuousTimetable) is not supported',
  '@reboot': '@reboot has no meaning for a DAG schedule',
};

type Kind = { kind: 'null' } | { kind: 'once' } | { kind: 'cron'; expression: string; cron: Cron };

const cache = new Map<string, Kind>();

function scheduleError(schedule: unknown, why: string): Error {
  return new Error(
    `Invalid schedule ${JSON.stringify(schedule)}: ${why}. Use a 5-field cron expression ` +
      `('minute hour day-of-month month day-of-week', UTC), one of ${['@once', ...Object.keys(CRON_PRESETS)].join(', ')}, ` +
      'or null for manual runs only',
  );
}

function resolve(schedule: Schedule): Kind {
  if (schedule === null || schedule === undefined) return { kind: 'null' };
  if (typeof schedule !== 'string') throw scheduleError(schedule, 'expected a string or null');
  const cached = cache.get(schedule);
  if (cached) return cached;

  const trimmed = schedule.trim();
  let kind: Kind;
  if (trimmed === '@once') {
    kind = { kind: 'once' };
  } else {
    const lower = trimmed.toLowerCase();
    if (lower in UNSUPPORTED_PRESETS) throw scheduleError(schedule, UNSUPPORTED_PRESETS[lower]);
    const expression = CRON_PRESETS[lower] ?? trimmed.replace(/\s+/g, ' ');
    if (expression.startsWith('@')) throw scheduleError(schedule, 'unknown preset');
    const fields = expression.split(' ').length;
    if (fields !== 5) {
      // croniter reads a 6th field as *seconds at the end*, croner as seconds at the start:
      // accepting either would silently disagree with Airflow, so only 5 fields are allowed.
      throw scheduleError(schedule, `expected 5 fields, got ${fields}`);
    }
    let cron: Cron;
    try {
      // domAndDow=false: day-of-month and day-of-week are OR-ed, like vixie cron and croniter.
      cron = new Cron(expression, { timezone: 'UTC', mode: '5-part', domAndDow: false });
    } catch (err) {
      throw scheduleError(schedule, err instanceof Error ? err.message : String(err));
    }
    if (cron.nextRun(new Date(0)) === null) {
      throw scheduleError(schedule, 'the expression never fires');
    }
    kind = { kind: 'cron', expression, cron };
  }
  cache.set(schedule, kind);
  return kind;
}

/** Throws an Error with a readable message if the schedule cannot be used. */
export function validateSchedule(schedule: Schedule): void {
  resolve(schedule);
}

// --- croniter-equivalent primitives (strict next / strict previous) ---

function getNext(cron: Cron, current: Date): Date {
  const next = cron.nextRun(current);
  if (next === null) throw new Error(`cron '${cron.getPattern() ?? ''}' has no run after ${current.toISOString()}`);
  return next;
}

function getPrev(cron: Cron, current: Date): Date {
  // croniter's get_prev is strictly before the reference; croner's previousRuns already is, but
  // guard against a same-instant answer so alignment can never loop on the reference itself.
  let ref = current;
  for (let i = 0; i < 3; i++) {
    const [prev] = cron.previousRuns(1, ref);
    if (prev === undefined) break;
    if (prev.getTime() < current.getTime()) return prev;
    ref = prev;
  }
  throw new Error(`cron '${cron.getPattern() ?? ''}' has no run before ${current.toISOString()}`);
}

/** `current` if it is on a cron boundary, else the next boundary (Airflow's _align_to_next). */
function alignToNext(cron: Cron, current: Date): Date {
  const next = getNext(cron, current);
  return getPrev(cron, next).getTime() !== current.getTime() ? next : current;
}

/** `current` if it is on a cron boundary, else the previous boundary (Airflow's _align_to_prev). */
function alignToPrev(cron: Cron, current: Date): Date {
  const prev = getPrev(cron, current);
  return getNext(cron, prev).getTime() !== current.getTime() ? prev : current;
}

/**
 * catchup=False: the start of the latest interval that has completely elapsed at `now`.
 * On an exact boundary, the interval ending now; between boundaries, the one ending at the last
 * boundary. Never earlier than start_date aligned to the cron.
 */
function skipToLatest(cron: Cron, now: Date, earliest: Date | null): Date {
  const lastStart = getPrev(cron, now);
  const nextStart = getNext(cron, lastStart);
  const newStart = nextStart.getTime() === now.getTime() ? lastStart : getPrev(cron, lastStart);
  if (earliest === null) return newStart;
  const aligned = alignToNext(cron, earliest);
  return newStart.getTime() >= aligned.getTime() ? newStart : aligned;
}

const maxDate = (a: Date, b: Date): Date => (a.getTime() >= b.getTime() ? a : b);

function assertDate(value: unknown, name: string): asserts value is Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new Error(`${name} must be a valid Date, got ${String(value)}`);
  }
}

/**
 * The next automated run after `lastAutomatedDataInterval` (null: the first one), or null when the
 * schedule has no more runs (null schedule, @once already ran, past end_date).
 *
 * The returned run may still be in the future: the scheduler creates it once `now >= runAfter`.
 * `now` only matters for catchup=false (which interval is "the latest").
 */
export function nextDagRunInfo(args: {
  schedule: Schedule;
  startDate: Date;
  endDate?: Date | null;
  catchup: boolean;
  lastAutomatedDataInterval: DataInterval | null;
  now: Date;
}): DagRunInfo | null {
  const kind = resolve(args.schedule);
  assertDate(args.startDate, 'startDate');
  assertDate(args.now, 'now');
  const latest = args.endDate ?? null;
  if (latest !== null) assertDate(latest, 'endDate');

  if (kind.kind === 'null') return null;

  if (kind.kind === 'once') {
    // @once always runs at start_date, catchup or not (Airflow has done so since 1.10, AIRFLOW-1928).
    if (args.lastAutomatedDataInterval !== null) return null;
    const at = args.startDate;
    if (latest !== null && at.getTime() > latest.getTime()) return null;
    return { logicalDate: at, dataInterval: { start: at, end: at }, runAfter: at };
  }

  const { cron } = kind;
  const earliest = args.catchup ? alignToNext(cron, args.startDate) : skipToLatest(cron, args.now, args.startDate);

  let start: Date;
  if (args.lastAutomatedDataInterval === null) {
    start = earliest;
  } else {
    // Re-aligning the previous end keeps a changed schedule from producing a half interval.
    start = maxDate(alignToPrev(cron, args.lastAutomatedDataInterval.end), earliest);
  }
  // Airflow compares the *start* (logical date) with end_date, not the interval end.
  if (latest !== null && start.getTime() > latest.getTime()) return null;
  const end = getNext(cron, start);
  return { logicalDate: start, dataInterval: { start, end }, runAfter: end };
}

/**
 * Data interval of a manually triggered run (Airflow 2's infer_manual_data_interval):
 * cron → the last complete interval before `logicalDate` (a trigger at 01:00 on the 25th of a daily
 * DAG covers 24th 00:00 → 25th 00:00); @once / null → an empty interval at `logicalDate`.
 */
export function manualDataInterval(schedule: Schedule, logicalDate: Date): DataInterval {
  const kind = resolve(schedule);
  assertDate(logicalDate, 'logicalDate');
  if (kind.kind !== 'cron') return { start: logicalDate, end: logicalDate };
  const end = alignToPrev(kind.cron, logicalDate);
  return { start: getPrev(kind.cron, end), end };
}

/** One line for the CLI / UI. */
export function describeSchedule(schedule: Schedule): string {
  const kind = resolve(schedule);
  if (kind.kind === 'null') return 'Never, external triggers only';
  if (kind.kind === 'once') return 'Once, as soon as possible';
  const preset = typeof schedule === 'string' ? PRESET_DESCRIPTIONS[schedule.trim().toLowerCase()] : undefined;
  if (preset) return preset;
  return describeCron(kind.expression) ?? `${kind.expression} (cron, UTC)`;
}

/** Plain-English for the common fixed-time shapes; anything fancier is shown as the expression. */
function describeCron(expression: string): string | null {
  const [min, hour, dom, mon, dow] = expression.split(' ');
  const isNum = (v: string): boolean => /^\d+$/.test(v);
  const hhmm = (): string => `${hour.padStart(2, '0')}:${min.padStart(2, '0')} UTC`;
  const step = (v: string): number | null => (/^\*\/\d+$/.test(v) ? Number(v.slice(2)) : null);
  const DOW = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

  if (mon !== '*') return null;
  if (dom === '*' && dow === '*') {
    if (isNum(min) && isNum(hour)) return `At ${hhmm()} daily`;
    if (isNum(min) && hour === '*') return `At minute ${min} of every hour (UTC)`;
    if (min === '*' && hour === '*') return 'Every minute';
    const minStep = step(min);
    if (minStep !== null && hour === '*') return `Every ${minStep} minutes`;
    const hourStep = step(hour);
    if (hourStep !== null && isNum(min)) return `At minute ${min} past every ${hourStep} hours (UTC)`;
    return null;
  }
  if (isNum(min) && isNum(hour) && dom === '*' && isNum(dow) && Number(dow) <= 7) {
    return `At ${hhmm()} on ${DOW[Number(dow)]}, weekly`;
  }
  if (isNum(min) && isNum(hour) && isNum(dom) && dow === '*') {
    return `At ${hhmm()} on day ${dom} of every month`;
  }
  return null;
}
