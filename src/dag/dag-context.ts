/**
 * The DAG that operators created right now attach to (Airflow's `with DAG(...)` block). A stack,
 * because a builder callback may define a second DAG.
 */
import type { DAG } from './dag.ts';

const stack: DAG[] = [];

export function currentDag(): DAG | undefined {
  return stack[stack.length - 1];
}

export function withDagContext<T>(dag: DAG, fn: () => T): T {
  stack.push(dag);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}
