/**
 * What every use-case needs, built once per process by the composition root (or by an API server /
 * CLI command for itself): the store, the in-process state-change bus (absent in short-lived CLI
 * processes), the DAG definitions this process holds (if any) and the transitions — the only way a
 * state changes.
 */
import { userInfo } from 'node:os';
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

/**
 * Who a use-case acts for, written into the audit log (event_logs): the API user (or `token` /
 * `anonymous`), or the OS user of a CLI / Runtime process; `source` says which front door.
 */
export interface Actor {
  owner: string;
  source: 'api' | 'cli' | 'runtime' | (string & {});
  /** Extra facts for the audit entry (the API's remote address). Never secrets. */
  details?: Record<string, string>;
}

/** The OS user running this process (the audit owner of CLI and Runtime actions). */
export function osUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export interface AppContextOptions {
  store: Store;
  bus?: StateChangeBus;
  dags?: DagDefinitions;
  /** Default: the OS user, source `cli` (the CLI builds contexts without saying so). */
  actor?: Actor;
}

export class AppContext {
  readonly store: Store;
  readonly bus: StateChangeBus | undefined;
  readonly dags: DagDefinitions | undefined;
  readonly tis: TaskInstanceTransitions;
  readonly runs: DagRunTransitions;
  readonly triggers: TriggerTransitions;
  readonly actor: Actor;

  constructor(opts: AppContextOptions, shared?: Pick<AppContext, 'tis' | 'runs' | 'triggers'>) {
    this.store = opts.store;
    this.bus = opts.bus;
    this.dags = opts.dags;
    this.actor = opts.actor ?? { owner: osUser(), source: 'cli' };
    this.tis = shared?.tis ?? new TaskInstanceTransitions(opts.store, opts.bus);
    this.runs = shared?.runs ?? new DagRunTransitions(opts.store, opts.bus);
    this.triggers = shared?.triggers ?? new TriggerTransitions(opts.store, opts.bus);
  }

  /** The same context acting for another actor (the API: one per request), sharing the transitions. */
  withActor(actor: Actor): AppContext {
    return new AppContext({ store: this.store, bus: this.bus, dags: this.dags, actor }, this);
  }

  /** Retries of a task as declared (clear grants them again): the stored DAG, else the definition here, else 0. */
  retriesOf(dag: DagDoc | null, dagId: string, taskId: string): number {
    const declared = dag?.tasks.find((t) => t.task_id === taskId)?.retries;
    if (declared !== undefined) return declared;
    const live = this.dags?.getDag(dagId);
    return live?.hasTask(taskId) ? live.getTask(taskId).retries : 0;
  }
}
