/**
 * The DAG that operators created right now attach to (Airflow's `with DAG(...)` block). A stack,
 * because a builder callback may define a second DAG.
 *
 * The stack lives on globalThis under a registered symbol, so a DAG from one copy of deferflow
 * and operators from another (see dag-brand.ts) still meet in the same builder.
 */
import type { DAG } from './dag.ts';

const STACK_KEY = Symbol.for('deferflow.dagContextStack');

function stack(): DAG[] {
  const g = globalThis as unknown as Record<symbol, DAG[] | undefined>;
  let s = g[STACK_KEY];
  if (!s) {
    s = [];
    Object.defineProperty(globalThis, STACK_KEY, { value: s, enumerable: false });
  }
  return s;
}

export function currentDag(): DAG | undefined {
  const s = stack();
  return s[s.length - 1];
}

export function withDagContext<T>(dag: DAG, fn: () => T): T {
  const s = stack();
  s.push(dag);
  try {
    return fn();
  } finally {
    s.pop();
  }
}
