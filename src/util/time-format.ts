/**
 * UTC-only date formatting that matches what Python/Airflow print, so that templates such as
 * `{{ ts_nodash }}` or `{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%y') }}` produce byte-identical
 * strings to an Airflow 2.x deployment (job names and S3 keys are built from them).
 *
 * Everything is UTC: deferflow stores and schedules in UTC, and `%Z`/`%z` always print UTC/+0000.
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number, width = 2, fill = '0'): string => String(n).padStart(width, fill);

function assertValidDate(date: Date, fn: string): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new Error(`${fn}: expected a valid Date, got ${String(date)}`);
  }
}

function dayOfYear(date: Date): number {
  const start = Date.UTC(date.getUTCFullYear(), 0, 1);
  return Math.floor((date.getTime() - start) / 86_400_000) + 1;
}

/** Week number where weeks start on `firstDay` (0 = Sunday for %U, 1 = Monday for %W), as C does. */
function weekOfYear(date: Date, firstDay: 0 | 1): number {
  const yday = dayOfYear(date) - 1;
  const wday = (date.getUTCDay() + 7 - firstDay) % 7;
  return Math.floor((yday + 7 - wday) / 7);
}

/** ISO-8601 week-numbering year and week (%G / %V). */
function isoWeek(date: Date): { year: number; week: number } {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const dow = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - dow);
  const year = d.getUTCFullYear();
  const week = Math.ceil(((d.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return { year, week };
}

function microseconds(date: Date): number {
  return date.getUTCMilliseconds() * 1000;
}

/**
 * Python's `datetime.strftime` on Linux (glibc) for a UTC datetime. Unknown directives are
 * copied through unchanged, as glibc does, rather than throwing.
 */
export function strftime(date: Date, fmt: string): string {
  assertValidDate(date, 'strftime');
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i];
    if (ch !== '%' || i === fmt.length - 1) {
      out += ch;
      continue;
    }
    const code = fmt[++i];
    out += directive(date, code);
  }
  return out;
}

function directive(date: Date, code: string): string {
  const y = date.getUTCFullYear();
  const mo = date.getUTCMonth();
  const d = date.getUTCDate();
  const h = date.getUTCHours();
  const mi = date.getUTCMinutes();
  const s = date.getUTCSeconds();
  const wd = date.getUTCDay();
  switch (code) {
    case 'Y':
      return String(y);
    case 'C':
      return pad(Math.floor(y / 100));
    case 'y':
      return pad(y % 100);
    case 'm':
      return pad(mo + 1);
    case 'd':
      return pad(d);
    case 'e':
      return pad(d, 2, ' ');
    case 'H':
      return pad(h);
    case 'k':
      return pad(h, 2, ' ');
    case 'I':
      return pad(h % 12 === 0 ? 12 : h % 12);
    case 'l':
      return pad(h % 12 === 0 ? 12 : h % 12, 2, ' ');
    case 'M':
      return pad(mi);
    case 'S':
      return pad(s);
    case 'f':
      return pad(microseconds(date), 6);
    case 'p':
      return h < 12 ? 'AM' : 'PM';
    case 'j':
      return pad(dayOfYear(date), 3);
    case 'a':
      return DAYS[wd].slice(0, 3);
    case 'A':
      return DAYS[wd];
    case 'b':
    case 'h':
      return MONTHS[mo].slice(0, 3);
    case 'B':
      return MONTHS[mo];
    case 'w':
      return String(wd);
    case 'u':
      return String(wd === 0 ? 7 : wd);
    case 'U':
      return pad(weekOfYear(date, 0));
    case 'W':
      return pad(weekOfYear(date, 1));
    case 'V':
      return pad(isoWeek(date).week);
    case 'G':
      return String(isoWeek(date).year);
    case 'Z':
      return 'UTC';
    case 'z':
      return '+0000';
    case 's':
      return String(Math.floor(date.getTime() / 1000));
    case 'c':
      return strftime(date, '%a %b %e %H:%M:%S %Y');
    case 'x':
      return strftime(date, '%m/%d/%y');
    case 'X':
      return strftime(date, '%H:%M:%S');
    case 'D':
      return strftime(date, '%m/%d/%y');
    case 'F':
      return strftime(date, '%Y-%m-%d');
    case 'T':
      return strftime(date, '%H:%M:%S');
    case 'R':
      return strftime(date, '%H:%M');
    case 'n':
      return '\n';
    case 't':
      return '\t';
    case '%':
      return '%';
    default:
      return `%${code}`;
  }
}

/** Python's `datetime.isoformat()` of a UTC-aware datetime: `2025-04-09T00:00:00+00:00`, `…T00:00:00.005000+00:00`. */
export function isoUtc(date: Date): string {
  assertValidDate(date, 'isoUtc');
  const base =
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  const us = microseconds(date);
  return `${base}${us ? `.${pad(us, 6)}` : ''}+00:00`;
}

/** `{{ ds }}`: `2025-04-09`. */
export const ds = (date: Date): string => strftime(date, '%Y-%m-%d');
/** `{{ ds_nodash }}`: `20250409`. */
export const dsNodash = (date: Date): string => strftime(date, '%Y%m%d');
/** `{{ ts_nodash }}`: `20250409T000000` (Airflow drops sub-seconds here). */
export const tsNodash = (date: Date): string => strftime(date, '%Y%m%dT%H%M%S');
/** `{{ ts_nodash_with_tz }}`: Airflow strips '-' and ':' from `ts`, so sub-seconds survive: `20250409T000000+0000`. */
export const tsNodashWithTz = (date: Date): string => isoUtc(date).replace(/[-:]/g, '');

// --- strptime --------------------------------------------------------------------------------

// The same regular expressions CPython's _strptime uses, so that lenient inputs such as '1/5/2015'
// for '%m/%d/%Y' are accepted and ambiguous ones are rejected alike.
const PARSE_PATTERNS: Record<string, string> = {
  Y: '(?<Y>\\d\\d\\d\\d)',
  y: '(?<y>\\d\\d)',
  m: '(?<m>1[0-2]|0[1-9]|[1-9])',
  d: '(?<d>3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])',
  e: '(?<d>3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])',
  H: '(?<H>2[0-3]|[0-1]\\d|\\d)',
  I: '(?<I>1[0-2]|0[1-9]|[1-9])',
  M: '(?<M>[0-5]\\d|\\d)',
  S: '(?<S>6[0-1]|[0-5]\\d|\\d)',
  f: '(?<f>[0-9]{1,6})',
  j: '(?<j>36[0-6]|3[0-5]\\d|[12]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9])',
  a: `(?<a>${DAYS.map((x) => x.slice(0, 3)).join('|')})`,
  A: `(?<A>${DAYS.join('|')})`,
  b: `(?<b>${MONTHS.map((x) => x.slice(0, 3)).join('|')})`,
  B: `(?<B>${MONTHS.join('|')})`,
  p: '(?<p>am|pm)',
  Z: '(?<Z>utc|gmt|z)',
  z: '(?<z>[+-]\\d\\d:?[0-5]\\d(?::?[0-5]\\d(?:\\.\\d{1,6})?)?|z)',
};

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compileFormat(fmt: string): RegExp {
  let re = '';
  const used = new Set<string>();
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i];
    if (ch === '%') {
      const code = fmt[i + 1];
      i += 1;
      if (code === '%') {
        re += '%';
        continue;
      }
      const pattern = code === undefined ? undefined : PARSE_PATTERNS[code];
      if (pattern === undefined) {
        throw new Error(`strptime: '${code ?? ''}' is a bad directive in format '${fmt}'`);
      }
      const group = /\(\?<(\w+)>/.exec(pattern)?.[1] ?? code;
      if (used.has(group)) {
        // Python raises re.error for a repeated group name; say it plainly instead.
        throw new Error(`strptime: directive '%${code}' repeated in format '${fmt}'`);
      }
      used.add(group);
      re += pattern;
    } else if (/\s/.test(ch)) {
      while (i + 1 < fmt.length && /\s/.test(fmt[i + 1])) i += 1;
      re += '\\s+';
    } else {
      re += escapeRe(ch);
    }
  }
  return new RegExp(`^${re}`, 'i');
}

const indexOfName = (names: string[], value: string, short: boolean): number =>
  names.findIndex((n) => (short ? n.slice(0, 3) : n).toLowerCase() === value.toLowerCase());

/**
 * Python's `datetime.strptime(value, fmt)` for the directives strftime supports (minus the composite
 * ones). Fields default to 1900-01-01 00:00:00 like Python. A `%z` offset is applied, so the result is
 * always the UTC instant.
 */
export function strptime(value: string, fmt: string): Date {
  const match = compileFormat(fmt).exec(value);
  if (!match) throw new Error(`time data '${value}' does not match format '${fmt}'`);
  if (match[0].length !== value.length) {
    throw new Error(`unconverted data remains: ${value.slice(match[0].length)}`);
  }
  const g = match.groups ?? {};
  let year = 1900;
  if (g.Y !== undefined) year = Number(g.Y);
  else if (g.y !== undefined) {
    const yy = Number(g.y);
    year = yy <= 68 ? 2000 + yy : 1900 + yy; // POSIX pivot, as Python
  }
  let month = g.m !== undefined ? Number(g.m) : 1;
  if (g.b !== undefined) month = indexOfName(MONTHS, g.b, true) + 1;
  if (g.B !== undefined) month = indexOfName(MONTHS, g.B, false) + 1;
  let day = g.d !== undefined ? Number(g.d.trim()) : 1;
  let hour = g.H !== undefined ? Number(g.H) : 0;
  if (g.I !== undefined) {
    hour = Number(g.I);
    if (g.p !== undefined) {
      const pm = g.p.toLowerCase() === 'pm';
      if (pm && hour !== 12) hour += 12;
      if (!pm && hour === 12) hour = 0;
    }
  }
  const minute = g.M !== undefined ? Number(g.M) : 0;
  let second = g.S !== undefined ? Number(g.S) : 0;
  if (second === 61) throw new Error(`second must be in 0..59: '${value}'`);
  if (second === 60) second = 59; // Python clamps leap seconds the same way
  const micro = g.f !== undefined ? Number(g.f.padEnd(6, '0')) : 0;

  if (g.j !== undefined && g.m === undefined && g.b === undefined && g.B === undefined && g.d === undefined) {
    const doy = new Date(Date.UTC(year, 0, Number(g.j)));
    if (doy.getUTCFullYear() !== year) throw new Error(`day of year out of range for ${year}: '${value}'`);
    month = doy.getUTCMonth() + 1;
    day = doy.getUTCDate();
  }

  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(micro / 1000)));
  // Date.UTC treats years 0..99 as 1900+; set the full year explicitly.
  utc.setUTCFullYear(year, month - 1, day);
  if (utc.getUTCMonth() !== month - 1 || utc.getUTCDate() !== day) {
    throw new Error(`day is out of range for month: '${value}'`);
  }

  const z = g.z ?? (g.Z !== undefined ? 'z' : undefined);
  if (z !== undefined && z.toLowerCase() !== 'z') {
    const m = /^([+-])(\d\d):?(\d\d)(?::?(\d\d)(?:\.(\d{1,6}))?)?$/.exec(z);
    if (m) {
      const sign = m[1] === '-' ? -1 : 1;
      const offsetMs = (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0)) * 1000 + Math.floor(Number((m[5] ?? '0').padEnd(6, '0')) / 1000);
      return new Date(utc.getTime() - sign * offsetMs);
    }
  }
  return utc;
}
