export { DAG, type DagOptions, type DagCallback } from './dag.ts';
export { BaseOperator, type DependencyTarget } from './operator.ts';
export { FunctionTask, task, type TaskFunction, type FunctionTaskOptions } from './function-task.ts';
export { chain, crossDownstream, type ChainItem } from './chain.ts';
export { TaskDeferred, isTaskDeferred, type DeferRequest } from './task-deferred.ts';
export { XComArg } from './xcom-arg.ts';
export type { TaskContext, TaskInstanceHandle } from './task-context.ts';
export type { BaseTaskArgs, OperatorArgs, TaskCallback } from './task-args.ts';
export { isDag } from './dag-brand.ts';
