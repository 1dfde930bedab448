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

/** Boolean query parameter: 'true'/'false'/'1'/'0' (z.coerce.boolean would read 'false' as true). */
export const boolQuery = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

/** ISO 8601 date-time in a query or body. */
export const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
