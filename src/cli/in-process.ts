/**
 * The processes `dags test` and `tasks test` run inside the command (assembled by the composition
 * root, src/composition): scheduler, worker and triggerer on one state-change bus (so a state change wakes the next step at once), tuned for
 * one interactive run (short polls, fast SageMaker reconcile sweeps since no event queue is
 * configured here).
 *
 * They run on a *scratch database* — on the configured server when there is one (variables and
 * connections copied in, dropped afterwards), else on an embedded MongoDB — so a test run never
 * schedules, claims or fails anything of the deployment sharing that server (Airflow's `dags test`
 * likewise leaves other DAGs alone).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { DagBag } from '../dag-processing/dag-bag.ts';
import type { DAG } from '../dag/dag.ts';
import { Store } from '../store/store.ts';
import { copyVariablesAndConnections } from '../store/repositories/settings-copy.ts';
import type { StateChangeBus } from '../store/state-change-bus.ts';
import type { AppContext } from '../app/app-context.ts';
import { CompositionRoot } from '../composition/composition-root.ts';
import { resolveMongo, type MongoTarget } from '../store/embedded-mongo.ts';
import { createLogger } from '../log/logger.ts';
import type { CliContext } from './context.ts';
import { readStandaloneState } from '../standalone/standalone-state-file.ts';

export interface ScratchStore {
  store: Store;
  /** The deployment's store, when one is configured (source of variables, connections, runs). */
  source: Store | null;
  close(): Promise<void>;
}

/** A fresh database for one test run; see the file comment. */
export async function openScratchStore(ctx: CliContext, label: string): Promise<ScratchStore> {
  const uri = ctx.settings.mongoUri ?? readStandaloneState(ctx.settings.home)?.mongoUri;
  if (!uri) {
    const embedded: MongoTarget = await resolveMongo(undefined);
    const store = await Store.connect({ uri: embedded.uri });
    return {
      store,
      source: null,
      close: async () => {
        await store.close();
        await embedded.stop();
      },
    };
  }
  const source = await ctx.store();
  const name = `${source.db.databaseName}_${label}_${randomBytes(4).toString('hex')}`.slice(0, 63);
  const store = await Store.connect({ uri, dbName: name });
  // Same secret key, so encrypted connection documents copy as they are.
  await copyVariablesAndConnections(source, store);
  return {
    store,
    source,
    close: async () => {
      await store.dropDatabase().catch(() => undefined);
      await store.close();
    },
  };
}

export interface InProcessOptions {
  store: Store;
  dag: DAG;
  logger: Logger;
  components: { scheduler: boolean; worker: boolean; triggerer: boolean };
  slots?: number;
}

/** Scheduler, worker and triggerer for one interactive run, assembled by the composition root on the scratch store. */
export class InProcessRuntime {
  private constructor(
    private readonly root: CompositionRoot,
    readonly dagBag: DagBag,
  ) {}

  static async open(opts: InProcessOptions): Promise<InProcessRuntime> {
    const root = await CompositionRoot.open({ logger: opts.logger, store: opts.store });
    const dagBag = DagBag.fromDags([opts.dag]);
    const c = opts.components;
    await root.createProcesses({
      dagBag,
      scheduler: c.scheduler && { loopIntervalMs: 100, heartbeatMs: 2000 },
      worker: c.worker && { slots: opts.slots, pollIntervalMs: 100, logFlushMs: 100 },
      triggerer: c.triggerer && { pollIntervalMs: 200, sweepIntervalMs: 2000, heartbeatMs: 2000 },
      // The command is over: a try still running is aborted (it fails through the normal path).
      workerStop: { graceful: false },
    });
    return new InProcessRuntime(root, dagBag);
  }

  /** The in-process state-change bus: every step wakes the next one at once. */
  get bus(): StateChangeBus {
    return this.root.bus;
  }

  /** Use-cases on this run's store and bus, with the DAG's definition. */
  get app(): AppContext {
    return this.root.app;
  }

  start(): Promise<void> {
    return this.root.start();
  }

  stop(): Promise<void> {
    return this.root.stop();
  }
}

/**
 * Task failures already show in the live view (with their error); the process log stays quiet
 * unless DEFERFLOW_LOG_LEVEL asks for more.
 */
export function inProcessLogger(ctx: CliContext): Logger {
  const level = process.env.DEFERFLOW_LOG_LEVEL ? ctx.settings.logLevel : 'fatal';
  return createLogger({ level, name: 'deferflow', format: ctx.settings.logFormat, destination: process.stderr });
}
