/**
 * The processes `dags test` and `tasks test` run inside the command: scheduler, worker and
 * triggerer on one state-change bus (so a state change wakes the next step at once), tuned for
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
import { ConnectionRepository } from '../connections/connection-repository.ts';
import { AwsClientFactory } from '../providers/aws/aws-clients.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { Store } from '../store/store.ts';
import { copyVariablesAndConnections } from '../store/repositories/settings-copy.ts';
import { StateChangeBus } from '../store/state-change-bus.ts';
import { Worker } from '../worker/worker.ts';
import { Triggerer } from '../../triggerer/triggerer.ts';
import { resolveMongo, type MongoTarget } from '../store/embedded-mongo.ts';
import { createLogger } from '../log/logger.ts';
import type { CliContext } from './context.ts';
import { readStandaloneState } from './context.ts';

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

export class InProcessRuntime {
  readonly bus = new StateChangeBus();
  private readonly scheduler?: Scheduler;
  private readonly worker?: Worker;
  private readonly triggerer?: Triggerer;
  private readonly aws: AwsClientFactory;

  constructor(opts: InProcessOptions) {
    const dagBag = DagBag.fromDags([opts.dag]);
    this.aws = new AwsClientFactory({ connections: new ConnectionRepository(opts.store) });
    const services = { awsClients: this.aws };
    if (opts.components.scheduler)
      this.scheduler = new Scheduler({ store: opts.store, dagBag, bus: this.bus, logger: opts.logger, loopIntervalMs: 100, heartbeatMs: 2000 });
    if (opts.components.worker) {
      this.worker = new Worker({
        store: opts.store,
        dagBag,
        bus: this.bus,
        logger: opts.logger,
        slots: opts.slots ?? 16,
        pollIntervalMs: 100,
        services,
        logFlushMs: 100,
      });
    }
    if (opts.components.triggerer) {
      this.triggerer = new Triggerer({
        store: opts.store,
        bus: this.bus,
        logger: opts.logger,
        pollIntervalMs: 200,
        sweepIntervalMs: 2000,
        services,
        heartbeatMs: 2000,
      });
    }
  }

  async start(): Promise<void> {
    await this.triggerer?.start();
    await this.worker?.start();
    await this.scheduler?.start();
  }

  async stop(): Promise<void> {
    await this.scheduler?.stop().catch(() => undefined);
    await this.worker?.stop({ graceful: false }).catch(() => undefined);
    await this.triggerer?.stop().catch(() => undefined);
    this.aws.destroy();
    this.bus.complete();
  }
}

/**
 * Task failures already show in the live view (with their error); the process log stays quiet
 * unless DEFERFLOW_LOG_LEVEL asks for more.
 */
export function inProcessLogger(ctx: CliContext): Logger {
  const level = process.env.DEFERFLOW_LOG_LEVEL ? ctx.settings.logLevel : 'fatal';
  return createLogger({ level, name: 'deferflow', pretty: false, destination: process.stderr });
}
