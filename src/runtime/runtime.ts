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
import { type Observable, Subscription } from 'rxjs';
import type { Logger } from 'pino';
import { DeferflowError } from '../errors/deferflow-error.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import { createLogger } from '../log/logger.ts';
import { Store } from '../store/store.ts';
import { resolveMongo, type MongoTarget } from '../store/embedded-mongo.ts';
import { StateChangeBus } from '../store/state-change-bus.ts';
import type { DagRunDoc } from '../store/schema.ts';
import { dagRunId } from '../store/schema.ts';
import { DagRunTransitions } from '../store/transitions/dag-run-transitions.ts';
import { TaskInstanceTransitions } from '../store/transitions/task-instance-transitions.ts';
import { TriggerTransitions } from '../store/transitions/trigger-transitions.ts';
import type { DAG } from '../dag/dag.ts';
import { openDagSource, type ManagedDagSource, type OpenDagSourceOptions } from '../dag-processing/dag-sources.ts';
import { Scheduler, type SchedulerOptions } from '../scheduler/scheduler.ts';
import { manualDataInterval } from '../scheduler/timetable.ts';
import { Worker, type WorkerOptions } from '../worker/worker.ts';
import { Triggerer, type TriggererOptions } from '../../triggerer/triggerer.ts';
import type { EventSource } from '../events/event-source.ts';
import type { EventBridgeEvent } from '../events/eventbridge-event.ts';
import { PushEventSource } from '../events/from-observable.ts';
import { EventDispatcher } from '../events/event-dispatcher.ts';
import { EventRouter } from '../events/event-router.ts';
import { TriggererMetrics } from '../metrics/triggerer-metrics.ts';
import { AwsClientFactory } from '../providers/aws/aws-clients.ts';
import { setDefaultAwsClientFactory } from '../providers/aws/default-clients.ts';
import { ConnectionRepository } from '../connections/connection-repository.ts';
import { isoUtc } from '../util/time-format.ts';
import { ChangeFeed } from './change-feed.ts';
import type { RuntimeEvent } from './runtime-event.ts';

type ComponentOpts<T> = boolean | Partial<T>;

export interface RuntimeOptions {
  /** MongoDB to use; default MONGODB_URI, else an embedded mongodb-memory-server. */
  mongoUri?: string;
  /** An already-connected store (its client is not closed by stop()). */
  store?: Store;
  dagsFolder?: string;
  dags?: DAG[];
  /** With dagsFolder: the DAG processor here (default on) and its knobs. */
  dagProcessing?: { processor?: boolean; refreshIntervalMs?: number } & OpenDagSourceOptions['processing'];
  /** Which processes run in this one (default: all three). `true` or their options. */
  components?: {
    scheduler?: ComponentOpts<Omit<SchedulerOptions, 'store' | 'dagBag' | 'bus' | 'logger'>>;
    worker?: ComponentOpts<Omit<WorkerOptions, 'store' | 'dagBag' | 'bus' | 'logger'>>;
    triggerer?: ComponentOpts<Omit<TriggererOptions, 'store' | 'bus' | 'logger'>>;
  };
  eventSources?: EventSource[];
  /** Services for tasks and triggers; `awsClients` defaults to a factory over the stored connections. */
  services?: Record<string, unknown>;
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

const TERMINAL_RUN_STATES = new Set(['success', 'failed']);

export class Runtime {
  readonly events$: Observable<RuntimeEvent>;
  readonly scheduler: Scheduler | null;
  readonly worker: Worker | null;
  readonly triggerer: Triggerer | null;
  private readonly runs: DagRunTransitions;
  private readonly feed: ChangeFeed;
  private readonly pushSource = new PushEventSource('runtime');
  /** Without an in-process triggerer, events are resumed straight from MongoDB through this. */
  private readonly standaloneDispatcher: EventDispatcher | null;
  private readonly standaloneSubs = new Subscription();
  private started = false;
  private stopped = false;

  private constructor(
    readonly store: Store,
    readonly bus: StateChangeBus,
    readonly dagBag: ManagedDagSource,
    readonly logger: Logger,
    readonly services: Record<string, unknown>,
    opts: RuntimeOptions,
    private readonly ownedStore: boolean,
    private readonly mongo: MongoTarget | null,
  ) {
    const c = opts.components ?? {};
    const want = <T>(v: ComponentOpts<T> | undefined): Partial<T> | null => (v === false ? null : v === true || v === undefined ? {} : v);
    const schedulerOpts = want(c.scheduler);
    const workerOpts = want(c.worker);
    const triggererOpts = want(c.triggerer);
    this.scheduler = schedulerOpts ? new Scheduler({ ...schedulerOpts, store, dagBag, bus, logger }) : null;
    this.worker = workerOpts ? new Worker({ ...workerOpts, services: { ...services, ...(workerOpts.services ?? {}) }, store, dagBag, bus, logger }) : null;
    this.triggerer = triggererOpts
      ? new Triggerer({
          ...triggererOpts,
          services: { ...services, ...(triggererOpts.services ?? {}) },
          eventSources: [...(opts.eventSources ?? []), this.pushSource, ...(triggererOpts.eventSources ?? [])],
          store,
          bus,
          logger,
        })
      : null;
    if (this.triggerer) {
      this.standaloneDispatcher = null;
    } else {
      const tis = new TaskInstanceTransitions(store, bus);
      const triggers = new TriggerTransitions(store, bus);
      this.standaloneDispatcher = new EventDispatcher({ store, tis, triggers, router: new EventRouter(), logger, metrics: TriggererMetrics.for() });
      for (const s of [...(opts.eventSources ?? []), this.pushSource]) this.consumeStandalone(s);
    }
    const allHere = Boolean(this.scheduler && this.worker && this.triggerer);
    const pollMs = opts.pollChangesMs === undefined ? (allHere ? null : 500) : opts.pollChangesMs;
    this.feed = new ChangeFeed({ store, bus, logger, pollMs });
    this.events$ = this.feed.events$;
    this.runs = new DagRunTransitions(store, bus);
  }

  static async create(opts: RuntimeOptions = {}): Promise<Runtime> {
    const logger = opts.logger ?? createLogger({ name: 'deferflow' });
    let store = opts.store;
    let mongo: MongoTarget | null = null;
    if (!store) {
      mongo = await resolveMongo(opts.mongoUri ?? process.env.MONGODB_URI);
      store = await Store.connect({ uri: mongo.uri });
    }
    const { processor, refreshIntervalMs, ...processing } = opts.dagProcessing ?? {};
    const dagBag = await openDagSource({ store, logger, dags: opts.dags, dagsFolder: opts.dagsFolder, processor, processing, refreshIntervalMs });
    const services: Record<string, unknown> = { ...(opts.services ?? {}) };
    if (!services.awsClients) {
      const factory = new AwsClientFactory({ connections: new ConnectionRepository(store) });
      setDefaultAwsClientFactory(factory);
      services.awsClients = factory;
    }
    return new Runtime(store, new StateChangeBus(), dagBag, logger, services, opts, !opts.store, mongo);
  }

  /** Start the in-process components and the change feed. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.feed.start();
    await Promise.all([this.scheduler?.start(), this.worker?.start(), this.triggerer?.start()]);
  }

  /** Stop components (the triggerer releases its triggers), close what we opened. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.standaloneSubs.unsubscribe();
    await Promise.all([this.triggerer?.stop(), this.worker?.stop(), this.scheduler?.stop()]);
    await this.dagBag.close();
    this.feed.complete();
    this.bus.complete();
    if (this.ownedStore) await this.store.close();
    await this.mongo?.stop();
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

  /** Create a manual DAG run (queued; the scheduler starts it). */
  async triggerDag(dagId: string, opts: TriggerDagOptions = {}): Promise<DagRunDoc> {
    const schedule = this.dagBag.dags.get(dagId)?.schedule ?? (await this.store.dags.findOne({ _id: dagId }, { projection: { schedule: 1 } }))?.schedule;
    if (schedule === undefined) throw new NotFoundError('DAG_NOT_FOUND', `DAG '${dagId}' not found`, 'Pass it in `dags`/`dagsFolder`, or check the id.');
    const logicalDate = opts.logicalDate ?? new Date();
    return this.runs.create({
      dagId,
      runId: opts.runId ?? `manual__${isoUtc(logicalDate)}`,
      runType: 'manual',
      logicalDate,
      dataInterval: manualDataInterval(schedule, logicalDate),
      conf: opts.conf ?? {},
      externalTrigger: true,
      note: opts.note ?? null,
    });
  }

  /** Resolve with the run once it is success or failed; reject with RUN_WAIT_TIMEOUT after timeoutMs. */
  waitForRun(dagId: string, runId: string, opts: { timeoutMs?: number } = {}): Promise<DagRunDoc> {
    const id = dagRunId(dagId, runId);
    const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
    return new Promise<DagRunDoc>((resolve, reject) => {
      let done = false;
      const finish = (run: DagRunDoc | null, err?: Error): void => {
        if (done) return;
        done = true;
        sub.unsubscribe();
        clearTimeout(timeout);
        clearInterval(poll);
        if (run) resolve(run);
        else reject(err);
      };
      const sub = this.events$.subscribe((e) => {
        if (e.type === 'dag_run' && e.run._id === id && TERMINAL_RUN_STATES.has(e.state)) finish(e.run);
      });
      // The bus only sees this process's changes; a slow check covers the rest (and races at start).
      const check = (): void => {
        this.store.dagRuns
          .findOne({ _id: id })
          .then((r) => {
            if (r && TERMINAL_RUN_STATES.has(r.state)) finish(r);
          })
          .catch(() => undefined);
      };
      check();
      const poll = setInterval(check, 1_000);
      const timeout = setTimeout(
        () => finish(null, new DeferflowError('RUN_WAIT_TIMEOUT', `DAG run ${dagId}/${runId} did not finish within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
  }

  private consumeStandalone(src: EventSource): void {
    const dispatcher = this.standaloneDispatcher;
    if (!dispatcher) return;
    this.standaloneSubs.add(src.events$.subscribe((incoming) => void dispatcher.dispatch(incoming, src.name)));
  }
}
