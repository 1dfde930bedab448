/**
 * A reference to another task's XCom (Airflow's XComArg, `task.output`). Passing one as an
 * argument of a function task makes that task upstream and resolves to the value at run time.
 */
import type { BaseOperator } from './operator.ts';

export class XComArg {
  constructor(
    readonly operator: BaseOperator,
    readonly key: string = 'return_value',
  ) {}

  get taskId(): string {
    return this.operator.taskId;
  }

  toJSON(): { xcom_arg: { task_id: string; key: string } } {
    return { xcom_arg: { task_id: this.taskId, key: this.key } };
  }
}

/** Collect XComArgs nested anywhere in a value (arrays, plain objects). */
export function findXComArgs(value: unknown, out: XComArg[] = []): XComArg[] {
  if (value instanceof XComArg) out.push(value);
  else if (Array.isArray(value)) for (const v of value) findXComArgs(v, out);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) findXComArgs(v, out);
  return out;
}

/** Replace XComArgs by their values through a synchronous pull. */
export function resolveXComArgs(value: unknown, pull: (taskId: string, key: string) => unknown): unknown {
  if (value instanceof XComArg) return pull(value.taskId, value.key);
  if (Array.isArray(value)) return value.map((v) => resolveXComArgs(v, pull));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveXComArgs(v, pull)]));
  return value;
}
