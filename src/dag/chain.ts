/**
 * `chain(a, b, [c, d], e)` — Airflow's `chain` / `a >> b >> [c, d] >> e`. Adjacent lists of equal
 * length are linked pairwise, as Airflow does; a single task fans out to / in from a list.
 */
import { DagImportError } from '../errors/dag-import-error.ts';
import type { BaseOperator } from './operator.ts';

export type ChainItem = BaseOperator | ReadonlyArray<BaseOperator>;

export function chain(...items: ChainItem[]): void {
  for (let i = 0; i + 1 < items.length; i++) {
    const up = items[i];
    const down = items[i + 1];
    if (Array.isArray(up) && Array.isArray(down)) {
      if (up.length !== down.length) {
        throw new DagImportError(`chain: adjacent lists must have the same length (got ${up.length} and ${down.length})`);
      }
      up.forEach((u: BaseOperator, j: number) => {
        u.then(down[j]);
      });
    } else if (Array.isArray(up)) {
      for (const u of up as ReadonlyArray<BaseOperator>) u.then(down as BaseOperator);
    } else {
      (up as BaseOperator).then(down);
    }
  }
}

/** Every task in `from` upstream of every task in `to` (Airflow's cross_downstream). */
export function crossDownstream(from: ReadonlyArray<BaseOperator>, to: ReadonlyArray<BaseOperator>): void {
  for (const f of from) f.then(to);
}
