/**
 * Recognising deferflow objects by a registered-symbol brand rather than `instanceof`.
 *
 * A DAG file may get its `DAG` class from another copy of the deferflow module than the process
 * loading it: compiled `dist/` beside the TypeScript source, the user project's own install, or
 * the same file loaded under another URL. Classes then differ and `instanceof` says no;
 * `Symbol.for` keys are shared by every copy in the process, so a brand still says yes.
 */
import type { DAG } from './dag.ts';

export const DAG_BRAND: unique symbol = Symbol.for('deferflow.dag');

/** Any deferflow DAG instance, whichever copy of the module made it. */
export function isDag(value: unknown): value is DAG {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DAG_BRAND] === true;
}
