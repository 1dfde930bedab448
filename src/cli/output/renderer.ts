/**
 * Renders command results in the three `--output` formats:
 *  - table: cli-table3 box (Airflow's default), state columns coloured on a TTY;
 *  - json:  the rows as a JSON array (or the object) — stable keys for scripts;
 *  - plain: tab-separated values with a header line, for `cut`/`awk`.
 */
import Table from 'cli-table3';
import type { OutputFormat } from './output-format.ts';
import { colorsEnabled, formatState } from './state-colors.ts';
import type { Writer } from './writer.ts';
import { isoUtc } from '../../util/time-format.ts';

export type Cell = string | number | boolean | null | undefined | Date;
export type Row = Record<string, unknown>;

export interface Column {
  key: string;
  header?: string;
  /** Colour this column's values as task/run states. */
  state?: boolean;
}

export { processWriter, type Writer } from './writer.ts';

/**
 * A timestamp as Airflow prints it (Python's `isoformat()` of a UTC datetime):
 * `2025-04-09T00:00:00+00:00`, microseconds only when there are some. Every command prints times
 * this way, so a `.000Z` never sits next to a `+00:00` (a run id's own form).
 */
export function formatTimestamp(d: Date): string {
  return Number.isNaN(d.getTime()) ? String(d) : isoUtc(d);
}

/** JSON-friendly value: Dates as Airflow's ISO timestamps, everything else as is. */
export function toJsonValue(v: unknown): unknown {
  if (v instanceof Date) return formatTimestamp(v);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x)]));
  return v;
}

export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return formatTimestamp(v);
  if (typeof v === 'object') return JSON.stringify(toJsonValue(v));
  return String(v);
}

export function renderTable(rows: ReadonlyArray<Row>, columns: ReadonlyArray<Column>, color = false): string {
  const table = new Table({
    head: columns.map((c) => c.header ?? c.key),
    style: { head: color ? ['bold'] : [], border: color ? ['grey'] : [] },
  });
  for (const r of rows) {
    table.push(columns.map((c) => (c.state ? formatState((r[c.key] as string | null | undefined) ?? null, color) : cellText(r[c.key]))));
  }
  return table.toString();
}

export function renderPlain(rows: ReadonlyArray<Row>, columns: ReadonlyArray<Column>): string {
  const lines = [columns.map((c) => c.header ?? c.key).join('\t')];
  for (const r of rows)
    lines.push(columns.map((c) => (c.state ? formatState((r[c.key] as string | null) ?? null) : cellText(r[c.key])).replace(/[\t\n]/g, ' ')).join('\t'));
  return lines.join('\n');
}

/** Print rows in the chosen format. An empty table says so instead of printing a bare header. */
export function printRows(w: Writer, format: OutputFormat, rows: ReadonlyArray<Row>, columns: ReadonlyArray<Column>, emptyMessage = 'No data found'): void {
  if (format === 'json') {
    w.out(
      JSON.stringify(
        rows.map((r) => toJsonValue(Object.fromEntries(columns.map((c) => [c.key, r[c.key] ?? null])))),
        null,
        2,
      ),
    );
    return;
  }
  if (rows.length === 0) {
    w.out(emptyMessage);
    return;
  }
  w.out(format === 'plain' ? renderPlain(rows, columns) : renderTable(rows, columns, w.isTty && colorsEnabled()));
}

/** Print one object: a two-column key/value table, JSON, or `key<TAB>value` lines. */
export function printObject(w: Writer, format: OutputFormat, obj: Row): void {
  if (format === 'json') {
    w.out(JSON.stringify(toJsonValue(obj), null, 2));
    return;
  }
  if (format === 'plain') {
    w.out(
      Object.entries(obj)
        .map(([k, v]) => `${k}\t${cellText(v)}`)
        .join('\n'),
    );
    return;
  }
  const table = new Table({ style: { head: [], border: [] } });
  for (const [k, v] of Object.entries(obj)) table.push({ [k]: cellText(v) });
  w.out(table.toString());
}

/** A single scalar (a state, a value): printed bare in table/plain, JSON-encoded in json. */
export function printScalar(w: Writer, format: OutputFormat, value: unknown, key = 'value'): void {
  if (format === 'json') w.out(JSON.stringify({ [key]: toJsonValue(value) }));
  else w.out(cellText(value));
}

/** A confirmation line ("Variable foo created"): JSON mode wraps it so output stays parseable. */
export function printMessage(w: Writer, format: OutputFormat, message: string, extra: Row = {}): void {
  if (format === 'json') w.out(JSON.stringify(toJsonValue({ message, ...extra })));
  else w.out(message);
}
