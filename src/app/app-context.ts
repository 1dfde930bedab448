/**
 * What every use-case needs, built once per process by the composition root (or by an API server /
 * CLI command for itself): the store, the in-process state-change bus (absent in short-lived CLI
 * processes), the DAG definitions this process holds (if any) and the transitions — the only way a
 * state changes.
 */
import type { DagDefinition } from '../dag-processing/dag-definition.ts';
import type { Store } from '../store/store.ts';
import type { StateChangeBus } from '../store/state-change-bus.ts';
import type { DagDoc } from '../store/schema.ts';
import { DagRunTransitions } from '../store/transitions/dag-run-transitions.ts';
import { TaskInstanceTransitions } from '../store/transitions/task-instance-transitions.ts';
import { TriggerTransitions } from '../store/transitions/trigger-transitions.ts';

/**
 * DAG definitions by id, however they were loaded (a DagBag, DAGs given in code). Processes that
 * hold none (a webserver without a DAGs folder) work from the stored DAG metadata instead.
 */
export interface DagDefinitions {
  getDag(dagId: string): DagDefinition | undefined;
}

export interface AppContextOptions {
  store: Store;
  bus?: StateChangeBus;
  dags?: DagDefinitions;
}

export class AppContext {
  readonly store: Store;
  readonly bus: StateChangeBus | undefined;
  readonly dags: DagDefinitions | undefined;
  readonly tis: TaskInstanceTransitions;
  readonly runs: DagRunTransitions;
  readonly triggers: TriggerTransitions;

  constructor(opts: AppContextOptions) {
    this.store = opts.store;
    this.bus = opts.bus;
    this.dags = opts.dags;
    this.tis = new TaskInstanceTransitions(opts.store, opts.bus);
    this.runs = new DagRunTransitions(opts.store, opts.bus);
    this.triggers = new TriggerTransitions(opts.store, opts.bus);
  }

  /** Retries of a task as declared (clear grants them again): the stored DAG, else the definition here, else 0. */
  retriesOf(dag: DagDoc | null, dagId: string, taskId: string): number {
    const declared = dag?.tasks.find((t) => t.task_id === taskId)?.retries;
    if (declared !== undefined) return declared;
    const live = this.dags?.getDag(dagId);
    return live?.hasTask(taskId) ? live.getTask(taskId).retries : 0;
  }
}
