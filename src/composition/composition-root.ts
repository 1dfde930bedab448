/**
 * The composition root: the one place that assembles a running deferflow — store (opened here, or
 * given), state-change bus, logger, services, the use-case context, and the processes: scheduler,
 * worker, triggerer, webserver and the embedded local AWS. Every way of running deferflow is a thin
 * caller of it:
 *
 *   Runtime (embedding)            open → createProcesses(any subset) → start … stop
 *   `dags test` / `tasks test`     open(scratch store) → createProcesses(tuned for one run) → start … stop
 *   `scheduler`/`worker`/`triggerer`/`webserver` commands
 *                                  open(the deployment's store) → createProcesses(one) | startWebserver … stop
 *   standalone / `start`           open → startLocalAws → (provision events, seed) → Runtime on this root
 *                                  → startWebserver … stop
 *
 * stop() tears down everything assembled, in reverse order of assembly, each step isolated (one
 * failing step is logged and the rest still runs); it is idempotent. Every process and the default
 * services (the AWS SDK) are imported only when asked for, so a caller that does not run them never
 * loads them: a webserver loads no worker, a scheduler no fastify.
 */
import type { Logger } from 'pino';
import { Store } from '../store/store.ts';
import { resolveMongo } from '../store/embedded-mongo.ts';
import { StateChangeBus } from '../store/state-change-bus.ts';
import type { DagSource } from '../dag-processing/dag-definition.ts';
import { AppContext, osUser } from '../app/app-context.ts';
import type { Scheduler, SchedulerOptions } from '../scheduler/scheduler.ts';
import type { Worker, WorkerOptions } from '../worker/worker.ts';
import type { Triggerer, TriggererOptions } from '../../triggerer/triggerer.ts';
import type { EventSource } from '../../triggerer/sources/event-source.ts';
import type { DeferralProvider } from '../triggers/deferral-provider.ts';
import type { RunningWebserver } from '../api/server.ts';
import type { AuthOptions } from '../api/http/auth.ts';
import type { FaultConfig, LocalAws } from '../local-aws/types.ts';
import type { ProcessServices, Services } from './services.ts';
import { DEFAULTS } from '../config/defaults.ts';
import type { Registry } from 'prom-client';
import type { RunningMetricsServer } from '../metrics/metrics-server.ts';

export interface OpenOptions {
  logger: Logger;
  /** An already-connected store; the root never closes it. */
  store?: Store;
  /** Else this MongoDB (default MONGODB_URI, else an embedded mongodb-memory-server), opened and closed here. */
  mongoUri?: string;
  /** Services for tasks and triggers (`awsClients` defaults to AwsClientFactory.forStore over this store). */
  services?: Partial<Services>;
  /** Deferral providers besides the AWS one (an embedding app's trigger kinds, routing keys, reconcilers). */
  providers?: DeferralProvider[];
  /**
   * Serve /metrics and /health for the processes this root starts (scheduler, worker, triggerer
   * commands): port null/absent = off, 0 = any free port. The address is announced at start.
   */
  metrics?: { host?: string; port: number | null };
  /** Where start-up lines for the operator go (the CLI's stderr); default the logger. */
  announce?: (line: string) => void;
  /** The registry the processes report into (default the process registry of src/metrics). */
  metricsRegistry?: Registry;
}

export type SchedulerProcessOptions = Omit<SchedulerOptions, 'store' | 'dagBag' | 'bus' | 'logger'>;
export type WorkerProcessOptions = Omit<WorkerOptions, 'store' | 'dagBag' | 'bus' | 'logger'>;
export type TriggererProcessOptions = Omit<TriggererOptions, 'store' | 'bus' | 'logger' | 'deferral'>;

export interface ProcessesOptions {
  /** DAG definitions the scheduler and worker run (loaded by the caller, however it loads them); a triggerer needs none. */
  dagBag?: DagSource;
  /** Shared event streams for the triggerer (SQS, the local AWS, an app's Observable). */
  eventSources?: EventSource[];
  /** Which processes to build, with their options; absent or false: not here. */
  scheduler?: SchedulerProcessOptions | false;
  worker?: WorkerProcessOptions | false;
  triggerer?: TriggererProcessOptions | false;
  /** How the worker stops with the root (default: graceful, its own grace period). */
  workerStop?: { graceful?: boolean; timeoutMs?: number };
}

export interface Processes {
  scheduler: Scheduler | null;
  worker: Worker | null;
  triggerer: Triggerer | null;
}

export interface WebserverProcessOptions {
  host?: string;
  /** Default 8080; 0 = any free port. */
  port?: number;
  /** When the port is taken, listen on any free port instead of failing. */
  portFallback?: boolean;
  auth?: AuthOptions;
  /** DAG definitions the API may consult (retries to grant again on clear, a new run's task instances). */
  dagBag?: DagSource;
  livePollMs?: number;
}

export interface LocalAwsProcessOptions {
  dataDir: string;
  /** 0: any free port. */
  port?: number;
  region?: string;
  faults?: Partial<FaultConfig>;
}

export class CompositionRoot {
  /** The use-case context of this assembly: its store, bus and transitions, and the DAG definitions once processes exist. */
  readonly app: AppContext;
  private readonly teardown: Array<{ what: string; fn: () => Promise<void> | void }> = [];
  private stopping: Promise<void> | null = null;
  private processes: Processes = { scheduler: null, worker: null, triggerer: null };
  private dagBag: DagSource | null = null;
  private made: Promise<ProcessServices> | null = null;
  private started = false;
  private metricsOptions: OpenOptions['metrics'];
  private announceLine: (line: string) => void;
  private registry: Registry | null;
  /** Where this root serves /metrics and /health, once started with a metrics port. */
  metricsServer: RunningMetricsServer | null = null;

  private constructor(
    readonly logger: Logger,
    readonly store: Store,
    readonly bus: StateChangeBus,
    private readonly givenServices: Partial<Services>,
    private readonly providers: readonly DeferralProvider[],
    /** Where the store's database came from (uri null: a store given by the caller). */
    readonly mongo: { uri: string | null; embedded: boolean },
  ) {
    this.announceLine = (line) => logger.info(line);
    this.registry = null;
    this.app = new AppContext({ store, bus, dags: { getDag: (dagId) => this.dagBag?.getDag(dagId) }, actor: { owner: osUser(), source: 'runtime' } });
  }

  /** Store and bus. On a failure part-way, what was opened is closed again before the error is rethrown. */
  static async open(opts: OpenOptions): Promise<CompositionRoot> {
    const pending: Array<{ what: string; fn: () => Promise<void> | void }> = [];
    try {
      let store = opts.store;
      let mongo: { uri: string | null; embedded: boolean } = { uri: null, embedded: false };
      if (!store) {
        const target = await resolveMongo(opts.mongoUri ?? process.env.MONGODB_URI);
        pending.push({ what: 'mongodb', fn: () => target.stop() });
        const opened = await Store.connect({ uri: target.uri });
        pending.push({ what: 'store', fn: () => opened.close() });
        store = opened;
        mongo = { uri: target.uri, embedded: target.embedded };
      }
      const bus = new StateChangeBus();
      pending.push({ what: 'state-change bus', fn: () => bus.complete() });
      const root = new CompositionRoot(opts.logger, store, bus, opts.services ?? {}, opts.providers ?? [], mongo);
      root.metricsOptions = opts.metrics;
      root.announceLine = opts.announce ?? ((line) => opts.logger.info(line));
      root.registry = opts.metricsRegistry ?? null;
      root.teardown.push(...pending);
      return root;
    } catch (e) {
      for (const step of pending.reverse()) await Promise.resolve(step.fn()).catch(() => undefined);
      throw e;
    }
  }

  /** The services tasks and triggers get (made on first use; see services.ts), undone when the root stops. */
  async services(): Promise<ProcessServices> {
    if (!this.made) {
      this.made = import('./services.ts').then(({ processServices }) => processServices(this.store, this.givenServices, this.providers));
      const made = this.made;
      this.onStop('services', async () => (await made).close());
    }
    return this.made;
  }

  /** Run `fn` when the root stops (before everything assembled earlier stops). */
  onStop(what: string, fn: () => Promise<void> | void): void {
    this.teardown.push({ what, fn });
  }

  /** The embedded local AWS (SageMaker, S3, EventBridge, SQS, Logs, STS), stopped with the root. */
  async startLocalAws(opts: LocalAwsProcessOptions): Promise<LocalAws> {
    const { startLocalAws } = await import('../local-aws/index.ts');
    const localAws = await startLocalAws({
      dataDir: opts.dataDir,
      port: opts.port ?? 0,
      region: opts.region,
      faults: opts.faults,
      logger: this.logger.child({ component: 'local-aws' }),
    });
    this.onStop('local aws', () => localAws.close());
    return localAws;
  }

  /**
   * Build the processes asked for (not started): they share this root's store, bus, logger and
   * services; the triggerer consumes `eventSources`.
   */
  async createProcesses(opts: ProcessesOptions): Promise<Processes> {
    const { store, bus, logger } = this;
    const s = opts.scheduler;
    const w = opts.worker;
    const t = opts.triggerer;
    const dagBag = opts.dagBag;
    if ((s || w) && !dagBag) throw new Error('CompositionRoot.createProcesses: a scheduler or worker needs the DAG definitions (dagBag)');
    if (dagBag) this.dagBag = dagBag;
    const made = w || t ? await this.services() : null;
    const services = made?.services ?? {};
    const p: Processes = { scheduler: null, worker: null, triggerer: null };
    if (s) {
      const { Scheduler } = await import('../scheduler/scheduler.ts');
      const metrics = s.metrics ?? (await import('../metrics/process-metrics.ts')).schedulerMetrics(await this.metricsRegistry());
      p.scheduler = new Scheduler({ ...s, metrics, store, dagBag: dagBag!, bus, logger });
    }
    if (w) {
      const { Worker } = await import('../worker/worker.ts');
      p.worker = new Worker({
        ...w,
        services: { ...services, ...(w.services ?? {}) },
        triggerKinds: made!.deferral.triggerKinds,
        store,
        dagBag: dagBag!,
        bus,
        logger,
      });
    }
    if (t) {
      const { Triggerer } = await import('../../triggerer/triggerer.ts');
      p.triggerer = new Triggerer({
        ...t,
        deferral: made!.deferral,
        services: { ...services, ...(t.services ?? {}) },
        eventSources: [...(opts.eventSources ?? []), ...(t.eventSources ?? [])],
        store,
        bus,
        logger,
      });
    }
    this.processes = p;
    // Stopped before anything opened earlier, producers of work first: the scheduler finishes its
    // loop, the worker finishes (or aborts) its tries, the triggerer releases its triggers (never
    // the remote jobs). Stopping a process that never started only marks it stopped.
    if (p.triggerer) this.onStop('triggerer', () => p.triggerer!.stop());
    if (p.worker) this.onStop('worker', () => p.worker!.stop(opts.workerStop));
    if (p.scheduler) this.onStop('scheduler', () => p.scheduler!.stop());
    return p;
  }

  /** Start the processes: triggerer and worker first, so the scheduler's first queued tasks find them. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const p = this.processes;
    await p.triggerer?.start();
    await p.worker?.start();
    await p.scheduler?.start();
    if (p.triggerer) await this.storeDeferralFigures();
    if (this.metricsOptions?.port != null) await this.serveMetrics(this.metricsOptions.host ?? DEFAULTS.webserverHost, this.metricsOptions.port);
  }

  /** The registry this root's processes report into. */
  private async metricsRegistry(): Promise<Registry> {
    this.registry ??= (await import('../metrics/registry.ts')).metricsRegistry;
    return this.registry;
  }

  /** A triggerer's deferral figures are stored (every 10 s and at stop), so every webserver's deferrals page sees them. */
  private async storeDeferralFigures(): Promise<void> {
    const { SnapshotWriter } = await import('../metrics/snapshot.ts');
    const writer = new SnapshotWriter({ store: this.store, registry: await this.metricsRegistry(), process: 'triggerer', logger: this.logger });
    writer.start();
    // Before the triggerer stops (teardown runs newest first): its final figures.
    this.onStop('deferral figures', () => writer.stop());
  }

  /** /metrics and /health of this root's processes (see OpenOptions.metrics), closed with the root. */
  async serveMetrics(host: string, port: number): Promise<RunningMetricsServer> {
    const registry = await this.metricsRegistry();
    const [{ startMetricsServer }, pm, { collectProcessMetrics }, { TriggererMetrics }] = await Promise.all([
      import('../metrics/metrics-server.ts'),
      import('../metrics/process-metrics.ts'),
      import('../metrics/registry.ts'),
      import('../metrics/triggerer-metrics.ts'),
    ]);
    const p = this.processes;
    collectProcessMetrics(registry);
    if (p.worker) pm.registerWorkerMetrics(registry, p.worker);
    if (p.triggerer) {
      TriggererMetrics.for(registry);
      pm.registerDeferralAgeMetrics(this.store, registry);
    }
    const names = [p.scheduler && 'scheduler', p.worker && 'worker', p.triggerer && 'triggerer'].filter(Boolean) as string[];
    const server = await startMetricsServer({
      registry,
      host,
      port,
      health: () => {
        const stopping = this.stopping !== null;
        const triggererState = p.triggerer?.state;
        return {
          status: stopping ? 'stopping' : triggererState && triggererState !== 'running' ? 'starting' : 'healthy',
          processes: names,
          pid: process.pid,
          ...(p.scheduler ? { scheduler_id: p.scheduler.id } : {}),
          ...(p.worker ? { worker_id: p.worker.id, slots: p.worker.slots, slots_in_use: p.worker.slotsInUse } : {}),
          ...(p.triggerer ? { triggerer_id: p.triggerer.id, triggerer_state: triggererState, triggers_held: p.triggerer.heldTriggers } : {}),
        };
      },
    });
    this.metricsServer = server;
    this.onStop('metrics server', () => server.close());
    this.announceLine(`deferflow ${names.join(' + ') || 'process'} metrics on ${server.url}/metrics (health: ${server.url}/health)`);
    return server;
  }

  /** The REST API, UI and /metrics on this root's store and bus; closed with the root. */
  async startWebserver(opts: WebserverProcessOptions = {}): Promise<RunningWebserver> {
    const { startWebserver } = await import('../api/server.ts');
    const base = {
      store: this.store,
      bus: this.bus,
      dagBag: opts.dagBag ?? this.dagBag ?? undefined,
      host: opts.host ?? DEFAULTS.webserverHost,
      auth: opts.auth,
      livePollMs: opts.livePollMs,
      logger: this.logger.child({ component: 'webserver' }),
    };
    const port = opts.port ?? DEFAULTS.webserverPort;
    let server: RunningWebserver;
    try {
      server = await startWebserver({ ...base, port });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !opts.portFallback || port === 0) throw e;
      this.logger.warn({ port }, 'webserver port taken; listening on a free port instead');
      server = await startWebserver({ ...base, port: 0 });
    }
    this.onStop('webserver', () => server.close());
    return server;
  }

  /** Tear down everything assembled, newest first (see the file comment). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const step of this.teardown.reverse()) {
        try {
          await step.fn();
        } catch (e) {
          this.logger.warn({ err: e, step: step.what }, 'stop step failed');
        }
      }
      this.teardown.length = 0;
    })();
    return this.stopping;
  }
}
