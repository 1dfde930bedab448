/**
 * Airflow's collection conventions: `limit` (default 100, max 100 — Airflow's maximum_page_limit),
 * `offset`, and `order_by` naming one attribute, `-` for descending. Unknown attributes are a 400,
 * as in Airflow ("Ordering with 'x' is disallowed or the attribute does not exist on the model").
 */
import { z } from 'zod';
import type { SortOrder } from '../../app/queries/page.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';

export const MAX_PAGE_LIMIT = 100;

export const paginationQuery = {
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(MAX_PAGE_LIMIT),
  offset: z.coerce.number().int().min(0).default(0),
  order_by: z.string().min(1).optional(),
};

/**
 * Mongo sort for `order_by`. `fields` maps API attribute → document field. A stable tiebreak on
 * `_id` keeps pages from overlapping when the sort key has ties.
 */
export function sortFor(orderBy: string | undefined, fields: Record<string, string>, fallback: string): SortOrder {
  const raw = orderBy ?? fallback;
  const desc = raw.startsWith('-');
  const name = desc ? raw.slice(1) : raw;
  const field = fields[name];
  if (!field) {
    throw new InvalidInputError('Invalid query parameter', [
      {
        path: 'order_by',
        message: `Ordering with '${name}' is disallowed or the attribute does not exist; use one of ${Object.keys(fields).sort().join(', ')} (prefix '-' for descending)`,
      },
    ]);
  }
  const dir = desc ? -1 : 1;
  return field === '_id' ? { _id: dir } : { [field]: dir, _id: dir };
}

/** Comma-separated list query parameter (Airflow takes repeated params; we accept both forms). */
export const csvList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) =>
    (Array.isArray(v) ? v : [v])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .optional();

/**
 * Boolean query parameter: true/false/1/0, any case — Airflow's Python client sends Python's
 * `True`/`False` (z.coerce.boolean would read 'false' as true).
 */
export const boolQuery = z
  .union([z.boolean(), z.string().regex(/^(true|false|1|0)$/i, 'use true or false')])
  .transform((v) => v === true || (typeof v === 'string' && /^(true|1)$/i.test(v)));

/** ISO 8601 date-time in a query or body. */
export const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A logical date as the CLI takes it: `2025-04-09` (midnight UTC) or an ISO 8601 date-time (no
 * zone = UTC, as deferflow schedules in UTC); a day the calendar does not have is refused.
 */
export const logicalDateInput = z
  .string()
  .trim()
  .describe('2025-04-09 (midnight UTC) or an ISO 8601 date-time such as 2025-04-09T12:00:00Z')
  .transform((s, ctx) => {
    let text: string;
    if (DATE_ONLY.test(s)) text = `${s}T00:00:00Z`;
    else if (DATE_TIME.test(s)) text = /(Z|[+-]\d{2}:?\d{2})$/.test(s) ? s.replace(' ', 'T') : `${s.replace(' ', 'T')}Z`;
    else {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a date: use 2025-04-09 or 2025-04-09T12:00:00Z` });
      return z.NEVER;
    }
    const d = new Date(text);
    const [y, m, day] = s.slice(0, 10).split('-').map(Number);
    const utc = text.endsWith('Z');
    if (Number.isNaN(d.getTime()) || (utc && (d.getUTCFullYear() !== y || d.getUTCMonth() + 1 !== m || d.getUTCDate() !== day))) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a valid calendar date` });
      return z.NEVER;
    }
    return d;
  });
