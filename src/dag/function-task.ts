/**
 * Function tasks — Airflow's `@task`: `task('data_prep', async (ctx, url) => value, { args: [url] })`.
 * `args`/`kwargs` are template fields (strings rendered against the context) and may hold XComArgs
 * of other tasks (`other.output`), which become upstream dependencies and resolve at run time.
 */
import { BaseOperator } from './operator.ts';
import type { TaskContext } from './task-context.ts';
import type { BaseTaskArgs } from './task-args.ts';
import { findXComArgs, resolveXComArgs } from './xcom-arg.ts';

/**
 * User functions take arguments of any types (rendered templates, XCom values). `never[]` accepts
 * every parameter list without `any`; execute() spreads the resolved values in.
 */
export type TaskFunction<R> = (ctx: TaskContext, ...args: never[]) => Promise<R> | R;

export interface FunctionTaskOptions extends BaseTaskArgs {
  /** Positional arguments after ctx (templated; XComArgs resolved). */
  args?: unknown[];
  /** Render these as templates too (default true, like Airflow's op_args/op_kwargs). */
  render_args?: boolean;
}

export class FunctionTask<R = unknown> extends BaseOperator {
  static override templateFields = ['op_args'] as const;
  op_args: unknown[];

  constructor(
    taskId: string,
    readonly fn: TaskFunction<R>,
    options: FunctionTaskOptions = {},
  ) {
    const { args = [], render_args = true, ...rest } = options;
    super({ ...rest, taskId });
    this.op_args = args;
    if (!render_args) this.templateFields = [];
    for (const ref of findXComArgs(args)) ref.operator.then(this);
  }

  override get operatorName(): string {
    return '@task';
  }

  override async execute(ctx: TaskContext): Promise<R> {
    const args = resolveXComArgs(this.op_args, (taskId, key) => ctx.ti.xcom_pull(taskId, key)) as unknown[];
    return this.fn(ctx, ...(args as never[]));
  }
}

export function task<R>(taskId: string, fn: TaskFunction<R>, options?: FunctionTaskOptions): FunctionTask<R> {
  return new FunctionTask(taskId, fn, options);
}
