/**
 * The embedding API: run deferflow inside your own Node process — scheduler, worker and triggerer
 * in-process (or any subset, the rest running elsewhere against the same MongoDB) — feed it your
 * own events, trigger DAGs, and observe every state change as an Observable.
 *
 *   const rt = await Runtime.create({ dags: [myDag], eventSources: [fromObservable('app', app$)] });
 *   await rt.start();
 *   rt.events$.subscribe((e) => console.log(e.type, e.state));
 *   const run = await rt.triggerDag('my_dag', { conf: { x: 1 } });
 *   await rt.waitForRun('my_dag', run.run_id, { timeoutMs: 60_000 });
 *   await rt.stop();
 *
 * See README.md in this folder.
 */
import { type Observable, Subscription, filter, map } from 'rxjs';
import type { Logger } from 'pino';
import { createLogger } from '../log/logger.ts';
import type { Store } from '../store/store.ts';
import type { StateChangeBus } from '../store/state-change-bus.ts';
import type { DagRunDoc } from '../store/schema.ts';
import type { DAG } from '../dag/dag.ts';
import { openDagSource, type ManagedDagSource, type OpenDagSourceOptions } from '../dag-processing/dag-sources.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Worker } from '../worker/worker.ts';
import type { Triggerer } from '../../triggerer/triggerer.ts';
import type { EventSource } from '../../triggerer/sources/event-source.ts';
import type { EventBridgeEvent } from '../events/eventbridge-event.ts';
import { PushEventSource } from '../../triggerer/sources/push-event-source.ts';
import { type EventDispatcher, storedTriggersDispatcher } from '../../triggerer/routing/event-dispatcher.ts';
import { TriggererMetrics } from '../metrics/triggerer-metrics.ts';
import type { ChangeFeed } from '../store/changes/change-feed.ts';
import {
  CompositionRoot,
  type Processes,
  type SchedulerProcessOptions,
  type TriggererProcessOptions,
  type WorkerProcessOptions,
} from '../composition/composition-root.ts';
import { triggerDagRun } from '../app/use-cases/trigger-dag-run.ts';
import { waitForRunEnd, watchChanges } from '../app/use-cases/watch-changes.ts';
import type { ProcessServices } from '../composition/services.ts';
import type { Services } from '../services/services.ts';
import type { DeferralProvider } from '../triggers/deferral-provider.ts';
import { runtimeEventOf, type RuntimeEvent } from './runtime-event.ts';

type ComponentOpts<T> = boolean | Partial<T>;

export interface RuntimeOptions {
  /** MongoDB to use; default MONGODB_URI, else an embedded mongodb-memory-server. */
  mongoUri?: string;
  /** An already-connected store (its client is not closed by stop()). */
  store?: Store;
  /** An already-open composition root (standalone): the runtime builds its processes on it; stop() stops the root. */
  root?: CompositionRoot;
  dagsFolder?: string;
  dags?: DAG[];
  /** With dagsFolder: the DAG processor here (default on) and its knobs. */
  dagProcessing?: { processor?: boolean; refreshIntervalMs?: number } & OpenDagSourceOptions['processing'];
  /** Which processes run in this one (default: all three). `true` or their options. */
  components?: {
    scheduler?: ComponentOpts<SchedulerProcessOptions>;
    worker?: ComponentOpts<WorkerProcessOptions>;
    triggerer?: ComponentOpts<TriggererProcessOptions>;
  };
  eventSources?: EventSource[];
  /** Services for tasks and triggers; `awsClients` defaults to a factory over the stored connections. */
  services?: Partial<Services>;
  /** Your own deferral providers (trigger kinds, routing keys of your events, reconcilers), next to the AWS one. */
  providers?: DeferralProvider[];
  logger?: Logger;
  /**
   * Poll MongoDB for changes made by other processes every this many ms (default 500 when some
   * component runs elsewhere, off when all three run here; null: never).
   */
  pollChangesMs?: number | null;
}

export interface TriggerDagOptions {
  logicalDate?: Date;
  conf?: Record<string, unknown>;
  runId?: string;
  note?: string;
}

export class Runtime {
  readonly events$: Observable<RuntimeEvent>;
  readonly scheduler: Scheduler | null;
  readonly worker: Worker | null;
  readonly triggerer: Triggerer | null;
  readonly store: Store;
  readonly bus: StateChangeBus;
  readonly logger: Logger;
  /** Services tasks and triggers get (`awsClients`: a factory over the stored connections unless given). */
  readonly services: Services;
  private readonly feed: ChangeFeed;
  /** Without an in-process triggerer, events are resumed straight from MongoDB through this. */
  private readonly standaloneDispatcher: EventDispatcher | null;
  private readonly standaloneSubs = new Subscription();
  private started = false;

  private constructor(
    private readonly root: CompositionRoot,
    readonly dagBag: ManagedDagSource,
    processes: Processes,
    made: ProcessServices,
    private readonly pushSource: PushEventSource,
    opts: RuntimeOptions,
  ) {
    this.services = made.services;
    this.store = root.store;
    this.bus = root.bus;
    this.logger = root.logger;
    this.scheduler = processes.scheduler;
    this.worker = processes.worker;
    this.triggerer = processes.triggerer;
    if (this.triggerer) {
      this.standaloneDispatcher = null;
    } else {
      this.standaloneDispatcher = storedTriggersDispatcher({
        store: this.store,
        tis: root.app.tis,
        triggers: root.app.triggers,
        deferral: made.deferral,
        logger: this.logger,
        metrics: TriggererMetrics.for(),
      });
      for (const s of [...(opts.eventSources ?? []), this.pushSource]) this.consumeStandalone(s);
    }
    const allHere = Boolean(this.scheduler && this.worker && this.triggerer);
    const pollMs = opts.pollChangesMs === undefined ? (allHere ? null : 500) : opts.pollChangesMs;
    this.feed = watchChanges(root.app, { pollMs, logger: this.logger });
    this.events$ = this.feed.changes$.pipe(
      map(runtimeEventOf),
      filter((e): e is RuntimeEvent => e !== null),
    );
    root.onStop('runtime', () => {
      this.standaloneSubs.unsubscribe();
      this.feed.complete();
    });
  }

  /** Open (or take) the composition root, load and record the DAGs, build the components (not started). */
  static async create(opts: RuntimeOptions = {}): Promise<Runtime> {
    const logger = opts.logger ?? opts.root?.logger ?? createLogger({ name: 'deferflow' });
    const root =
      opts.root ?? (await CompositionRoot.open({ logger, store: opts.store, mongoUri: opts.mongoUri, services: opts.services, providers: opts.providers }));
    try {
      const { processor, refreshIntervalMs, ...processing } = opts.dagProcessing ?? {};
      const dagBag = await openDagSource({ store: root.store, logger, dags: opts.dags, dagsFolder: opts.dagsFolder, processor, processing, refreshIntervalMs });
      root.onStop('DAG source', () => dagBag.close());
      const c = opts.components ?? {};
      const want = <T>(v: ComponentOpts<T> | undefined): Partial<T> | false => (v === false ? false : v === true || v === undefined ? {} : v);
      const pushSource = new PushEventSource('runtime');
      const processes = await root.createProcesses({
        dagBag,
        eventSources: [...(opts.eventSources ?? []), pushSource],
        scheduler: want(c.scheduler),
        worker: want(c.worker),
        triggerer: want(c.triggerer),
      });
      return new Runtime(root, dagBag, processes, await root.services(), pushSource, opts);
    } catch (e) {
      if (!opts.root) await root.stop();
      throw e;
    }
  }

  /** Start the in-process components. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.root.start();
  }

  /** Stop components (the triggerer releases its triggers) and close everything the root opened. */
  stop(): Promise<void> {
    return this.root.stop();
  }

  /** Add a stream of events (EventBridge-shaped) that triggers can wait on. */
  addEventSource(src: EventSource): void {
    if (this.triggerer) this.triggerer.addEventSource(src);
    else this.consumeStandalone(src);
  }

  /** Feed one event in (fire-and-forget); resolves nothing — use `emitAndWait` to await its effects. */
  emit(event: EventBridgeEvent): void {
    this.pushSource.emit(event);
  }

  /** Feed one event in; resolves once every resume it caused is persisted. */
  emitAndWait(event: EventBridgeEvent): Promise<void> {
    return this.pushSource.push(event);
  }

  /** Create a manual DAG run (queued; the scheduler starts it) — src/app/use-cases/trigger-dag-run.ts. */
  triggerDag(dagId: string, opts: TriggerDagOptions = {}): Promise<DagRunDoc> {
    return triggerDagRun(this.root.app, { dagId, logicalDate: opts.logicalDate, conf: opts.conf ?? {}, runId: opts.runId, note: opts.note ?? null });
  }

  /** Resolve with the run once it is success or failed; reject with RUN_WAIT_TIMEOUT after timeoutMs. */
  waitForRun(dagId: string, runId: string, opts: { timeoutMs?: number } = {}): Promise<DagRunDoc> {
    // The bus tells at once; a slow poll of the run covers changes made by other processes.
    return waitForRunEnd(this.root.app, dagId, runId, { timeoutMs: opts.timeoutMs ?? 10 * 60_000, pollMs: 1_000 });
  }

  private consumeStandalone(src: EventSource): void {
    const dispatcher = this.standaloneDispatcher;
    if (!dispatcher) return;
    this.standaloneSubs.add(src.events$.subscribe((incoming) => void dispatcher.dispatch(incoming, src.name)));
  }
}
