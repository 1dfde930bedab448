/**
 * What every route needs, built once per server: the store, the transitions (the only way a state
 * changes), the live change feed and the optional in-process collaborators.
 */
import type { Registry } from 'prom-client';
import type { Store } from '../store/store.ts';
import type { StateChangeBus } from '../store/state-change-bus.ts';
import { TaskInstanceTransitions } from '../store/transitions/task-instance-transitions.ts';
import { DagRunTransitions } from '../store/transitions/dag-run-transitions.ts';
import { TriggerTransitions } from '../store/transitions/trigger-transitions.ts';
import { dagRunId, taskInstanceId, type DagDoc, type DagRunDoc, type TaskInstanceDoc } from '../store/schema.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import type { DagDefinition } from '../dag-processing/dag-definition.ts';
import type { LiveChanges } from './live/live-changes.ts';

/** The part of a DagBag the API uses (structural, so any loader fits). */
export interface DagLookup {
  getDag(dagId: string): DagDefinition | undefined;
}

export class ApiContext {
  readonly tis: TaskInstanceTransitions;
  readonly runs: DagRunTransitions;
  readonly triggers: TriggerTransitions;

  constructor(
    readonly store: Store,
    readonly bus: StateChangeBus | undefined,
    readonly live: LiveChanges,
    readonly metricsRegistry: Registry,
    readonly dagBag?: DagLookup,
    readonly runtime?: unknown,
  ) {
    this.tis = new TaskInstanceTransitions(store, bus);
    this.runs = new DagRunTransitions(store, bus);
    this.triggers = new TriggerTransitions(store, bus);
  }

  async requireDag(dagId: string): Promise<DagDoc> {
    const dag = await this.store.dags.findOne({ _id: dagId });
    if (!dag) throw new NotFoundError('DAG_NOT_FOUND', `DAG with dag_id: '${dagId}' not found`);
    return dag;
  }

  async requireRun(dagId: string, runId: string): Promise<DagRunDoc> {
    const run = await this.store.dagRuns.findOne({ _id: dagRunId(dagId, runId) });
    if (!run) throw new NotFoundError('DAG_RUN_NOT_FOUND', `DAGRun with DAG ID: '${dagId}' and DagRun ID: '${runId}' not found`);
    return run;
  }

  async requireTi(dagId: string, runId: string, taskId: string, mapIndex = -1): Promise<TaskInstanceDoc> {
    const ti = await this.store.taskInstances.findOne({ _id: taskInstanceId(dagId, runId, taskId, mapIndex) });
    if (!ti) throw new NotFoundError('TASK_INSTANCE_NOT_FOUND', `Task instance '${taskId}' of DAG run '${runId}' of DAG '${dagId}' not found`);
    return ti;
  }

  /** Retries of a task as declared in the DAG (clear grants them again). */
  retriesOf(dag: DagDoc | null, taskId: string): number {
    const declared = dag?.tasks.find((t) => t.task_id === taskId)?.retries;
    if (declared !== undefined) return declared;
    const live = dag ? this.dagBag?.getDag(dag.dag_id) : undefined;
    return live?.hasTask(taskId) ? live.getTask(taskId).retries : 0;
  }
}
