/** The DAGs a DAG file's module exports (default or named; arrays of DAGs too), recognised by brand. */
import { isDag } from '../dag/dag-brand.ts';
import type { DAG } from '../dag/dag.ts';

export function collectDags(mod: Record<string, unknown>): DAG[] {
  const out = new Set<DAG>();
  const consider = (v: unknown): void => {
    if (isDag(v)) out.add(v);
    else if (Array.isArray(v)) v.forEach(consider);
  };
  for (const v of Object.values(mod)) consider(v);
  return [...out];
}
