/**
 * Input validation for commands: every argument and flag goes through zod, and a failure becomes
 * an InvalidInputError whose issues name the flag/argument and say what to put there instead.
 */
import { z } from 'zod';
import { InvalidInputError } from '../errors/invalid-input-error.ts';

/** Parse `value` with `schema`; zod issue paths are mapped to the flag names in `names`. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, names: Record<string, string> = {}, what = 'Invalid input'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new InvalidInputError(
    what,
    r.error.issues.map((i) => {
      const key = i.path.map(String).join('.');
      return { path: names[key] ?? (key ? key : ''), message: i.message };
    }),
  );
}

const ISO_DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A logical date as Airflow's CLI takes it: `2025-04-09` (midnight UTC) or an ISO 8601 timestamp
 * (`2025-04-09T12:00:00Z`; no zone = UTC, as deferflow schedules in UTC).
 */
export const logicalDate = z
  .string()
  .trim()
  .transform((s, ctx) => {
    let text = s;
    if (ISO_DATE_RE.test(s)) text = `${s}T00:00:00Z`;
    else if (ISO_DATETIME_RE.test(s)) {
      text = s.replace(' ', 'T');
      if (!/(Z|[+-]\d{2}:?\d{2})$/.test(text)) text += 'Z';
    } else {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a date: use 2025-04-09 or 2025-04-09T12:00:00Z` });
      return z.NEVER;
    }
    const d = new Date(text);
    const [y, m, day] = s.slice(0, 10).split('-').map(Number);
    // JS rolls 2025-02-30 over to March; a date the calendar does not have is a typo to report.
    const calendarOk =
      !Number.isNaN(d.getTime()) && (text.endsWith('Z') ? d.getUTCFullYear() === y && d.getUTCMonth() + 1 === m && d.getUTCDate() === day : true);
    if (!calendarOk) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a valid calendar date` });
      return z.NEVER;
    }
    return d;
  });

/** `--conf '{"a": 1}'`: a JSON object. */
export const jsonObject = z.string().transform((s, ctx) => {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `is not valid JSON (${(e as Error).message}); pass an object such as '{"key": "value"}'` });
    return z.NEVER;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    ctx.addIssue({ code: 'custom', message: `must be a JSON object such as '{"key": "value"}', not ${Array.isArray(v) ? 'an array' : typeof v}` });
    return z.NEVER;
  }
  return v as Record<string, unknown>;
});

const ID_RE = /^[a-zA-Z0-9_.-]{1,250}$/;
export const dagIdArg = z.string().regex(ID_RE, "must be a DAG id: 1-250 letters, digits, '_', '.' or '-'");
export const taskIdArg = z.string().regex(ID_RE, "must be a task id: 1-250 letters, digits, '_', '.' or '-'");

export const positiveIntString = (what: string) =>
  z.coerce
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`);
