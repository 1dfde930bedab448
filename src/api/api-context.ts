/**
 * What every route needs, built once per server: the use-case context (store, bus, transitions,
 * the DAG definitions this webserver holds), the live change feed and the metrics registry. Routes
 * read through src/app/queries and change state through src/app/use-cases only.
 */
import type { Registry } from 'prom-client';
import type { Store } from '../store/store.ts';
import type { StateChangeBus } from '../store/state-change-bus.ts';
import type { DagDoc, DagRunDoc, TaskInstanceDoc } from '../store/schema.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import { AppContext, type DagDefinitions } from '../app/app-context.ts';
import { getDag } from '../app/queries/dag-queries.ts';
import { getDagRun } from '../app/queries/dag-run-queries.ts';
import { getTaskInstance } from '../app/queries/task-instance-queries.ts';
import type { LiveChanges } from './live/live-changes.ts';
import type { FastifyRequest } from 'fastify';
import { requestOwner, type AuthOptions } from './http/auth.ts';

/** The part of a DagBag the API uses (structural, so any loader fits). */
export type DagLookup = DagDefinitions;

export class ApiContext {
  readonly app: AppContext;

  constructor(
    readonly store: Store,
    readonly bus: StateChangeBus | undefined,
    readonly live: LiveChanges,
    readonly metricsRegistry: Registry,
    readonly dagBag?: DagLookup,
    app?: AppContext,
    private readonly auth?: AuthOptions,
  ) {
    this.app = app ?? new AppContext({ store, bus, dags: dagBag, actor: { owner: 'anonymous', source: 'api' } });
  }

  /** The use-case context acting for the request's user (the audit log's owner). */
  appFor(req: FastifyRequest): AppContext {
    return this.app.withActor({ owner: requestOwner(this.auth, req.headers.authorization), source: 'api', details: { remote_addr: req.ip } });
  }

  async requireDag(dagId: string): Promise<DagDoc> {
    const dag = await getDag(this.store, dagId);
    if (!dag) throw new NotFoundError('DAG_NOT_FOUND', `DAG with dag_id: '${dagId}' not found`);
    return dag;
  }

  async requireRun(dagId: string, runId: string): Promise<DagRunDoc> {
    const run = await getDagRun(this.store, dagId, runId);
    if (!run) throw new NotFoundError('DAG_RUN_NOT_FOUND', `DAGRun with DAG ID: '${dagId}' and DagRun ID: '${runId}' not found`);
    return run;
  }

  async requireTi(dagId: string, runId: string, taskId: string, mapIndex = -1): Promise<TaskInstanceDoc> {
    const ti = await getTaskInstance(this.store, dagId, runId, taskId, mapIndex);
    if (!ti) throw new NotFoundError('TASK_INSTANCE_NOT_FOUND', `Task instance '${taskId}' of DAG run '${runId}' of DAG '${dagId}' not found`);
    return ti;
  }
}
