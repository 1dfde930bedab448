/**
 * Durations as users write them in DAG files (retry_delay, execution_timeout, trigger timeouts…).
 *
 * A bare number means **seconds**, because that is what Airflow does with a float `retry_delay`
 * and what people porting DAGs will type. Everything is normalised to integer milliseconds,
 * the unit timers and MongoDB dates work in.
 */

export type DurationObject = {
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
};

export type Duration = number | string | DurationObject;

const MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;

type UnitKey = keyof typeof MS;

// Long-form aliases so that '5 minutes' or '2 hrs' (common in copied configs) are not rejected.
const UNIT_ALIASES: Record<string, UnitKey> = {
  ms: 'ms',
  msec: 'ms',
  msecs: 'ms',
  millisecond: 'ms',
  milliseconds: 'ms',
  s: 's',
  sec: 's',
  secs: 's',
  second: 's',
  seconds: 's',
  m: 'm',
  min: 'm',
  mins: 'm',
  minute: 'm',
  minutes: 'm',
  h: 'h',
  hr: 'h',
  hrs: 'h',
  hour: 'h',
  hours: 'h',
  d: 'd',
  day: 'd',
  days: 'd',
  w: 'w',
  week: 'w',
  weeks: 'w',
};

const OBJECT_KEYS: Record<keyof DurationObject, number> = {
  days: MS.d,
  hours: MS.h,
  minutes: MS.m,
  seconds: MS.s,
  milliseconds: MS.ms,
};

const ACCEPTED_FORMS =
  "accepted forms: a number of seconds (e.g. 300), a string such as '300ms', '5s', '10m', '1h30m', '2d', " +
  "'1w', an ISO-8601 duration such as 'PT5M' or 'P1DT2H', Python's timedelta text 'H:MM:SS' " +
  "(optionally '2 days, 1:00:00'), or an object { days, hours, minutes, seconds, milliseconds }";

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function invalid(value: unknown, why?: string): Error {
  return new Error(`Invalid duration ${describe(value)}${why ? ` (${why})` : ''}; ${ACCEPTED_FORMS}`);
}

function finalize(original: unknown, ms: number): number {
  if (!Number.isFinite(ms)) throw invalid(original, 'not a finite value');
  if (ms < 0) throw invalid(original, 'negative durations are not allowed');
  return Math.round(ms);
}

const COMPOUND_RE = /(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]+)/gy;
const ISO_RE = /^P(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;
// Python's str(timedelta): '0:05:00', '1 day, 2:00:00', '3 days, 0:00:00.500000'
const TIMEDELTA_RE = /^(?:(\d+)\s+days?,\s*)?(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$/;

function parseString(original: string): number {
  const s = original.trim();
  if (s === '') throw invalid(original, 'empty string');

  // A numeric string is treated like a number: seconds.
  if (/^\d+(?:\.\d+)?$|^\.\d+$/.test(s)) return Number(s) * MS.s;

  const iso = ISO_RE.exec(s);
  if (iso && s.length > 1 && !/T$/i.test(s)) {
    const [, w, d, h, m, sec] = iso;
    if (w === undefined && d === undefined && h === undefined && m === undefined && sec === undefined) {
      throw invalid(original, 'ISO-8601 duration without any component');
    }
    const n = (v: string | undefined): number => (v === undefined ? 0 : Number(v.replace(',', '.')));
    return n(w) * MS.w + n(d) * MS.d + n(h) * MS.h + n(m) * MS.m + n(sec) * MS.s;
  }
  if (/^P/i.test(s)) throw invalid(original, 'not a valid ISO-8601 duration; years and months are not supported because their length varies');

  const td = TIMEDELTA_RE.exec(s);
  if (td) {
    const [, days, h, m, sec] = td;
    return Number(days ?? 0) * MS.d + Number(h) * MS.h + Number(m) * MS.m + Number(sec) * MS.s;
  }

  // Compound form: '1h30m', '1h 30m', '5 minutes', '1.5h'
  const compact = s.replace(/\s+/g, ' ');
  let total = 0;
  let pos = 0;
  COMPOUND_RE.lastIndex = 0;
  while (pos < compact.length) {
    if (compact[pos] === ' ') {
      pos += 1;
      continue;
    }
    COMPOUND_RE.lastIndex = pos;
    const match = COMPOUND_RE.exec(compact);
    if (!match) throw invalid(original, `cannot read ${JSON.stringify(compact.slice(pos))}`);
    const unit = UNIT_ALIASES[match[2].toLowerCase()];
    if (unit === undefined) throw invalid(original, `unknown unit ${JSON.stringify(match[2])}`);
    total += Number(match[1]) * MS[unit];
    pos = COMPOUND_RE.lastIndex;
  }
  return total;
}

/** Parse a duration into integer milliseconds; throws an Error naming the bad value and the accepted forms. */
export function parseDuration(d: Duration): number {
  if (typeof d === 'number') {
    return finalize(d, d * MS.s);
  }
  if (typeof d === 'string') {
    return finalize(d, parseString(d));
  }
  if (d !== null && typeof d === 'object' && !Array.isArray(d)) {
    let total = 0;
    let seen = 0;
    for (const [key, value] of Object.entries(d as Record<string, unknown>)) {
      if (!(key in OBJECT_KEYS)) throw invalid(d, `unknown key ${JSON.stringify(key)}`);
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw invalid(d, `${key} must be a finite number`);
      }
      total += value * OBJECT_KEYS[key as keyof DurationObject];
      seen += 1;
    }
    if (seen === 0) throw invalid(d, 'no component given');
    return finalize(d, total);
  }
  throw invalid(d);
}

/** Human-readable form for logs and the CLI: '300ms', '5s', '1m 5s', '1d 2h', '1.5s'. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  const rounded = Math.round(ms);
  if (rounded < MS.s) return `${rounded}ms`;
  const parts: string[] = [];
  let rest = rounded;
  for (const [unit, size] of [
    ['d', MS.d],
    ['h', MS.h],
    ['m', MS.m],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  if (rest > 0) {
    // Keep milliseconds as a decimal of seconds rather than a fifth unit: '1m 5.25s' reads better.
    const seconds = rest / MS.s;
    parts.push(`${Number.isInteger(seconds) ? seconds : seconds.toFixed(3).replace(/0+$/, '')}s`);
  }
  return parts.join(' ');
}
