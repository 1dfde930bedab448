/**
 * The whole of deferflow in one process — what `deferflow standalone` and `deferflow start` run:
 *
 *   MongoDB (MONGODB_URI, else an embedded mongodb-memory-server)
 *   local AWS (unless real AWS is configured)  ── EventBridge rule → SQS queue (setupSageMakerEvents)
 *   scheduler + worker + triggerer (the Runtime; the triggerer consumes that queue)
 *   webserver (REST API, UI, /metrics)
 *
 * Assembled by the composition root (src/composition): this file adds only what is standalone's
 * own — the local AWS event wiring and, on the local AWS, what the seed DAGs need: the
 * `aws_default` / `aws-sagemaker` connections pointing at it (only where the user has none), the
 * demo bucket with the Iris training set, and the `s3_bucket` / `role` variables (only where
 * unset). `stop()` tears everything down in reverse order. With `stateHome`, the stack records
 * itself in `$DEFERFLOW_HOME/standalone.json` so other CLI invocations find its database.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Runtime, type RuntimeOptions } from '../runtime/runtime.ts';
import type { Store } from '../store/store.ts';
import type { AwsClientFactory } from '../providers/aws/aws-clients.ts';
import { setupSageMakerEvents } from '../providers/aws/setup-events.ts';
import { findDeploymentQueue, othersEventFor } from '../providers/aws/deployment-events.ts';
import { deploymentIdOf } from '../store/repositories/deployment-repository.ts';
import { SqsEventSource } from '../../triggerer/sources/sqs-event-source.ts';
import type { FaultConfig, LocalAws } from '../local-aws/types.ts';
import type { EventSource } from '../../triggerer/sources/event-source.ts';
import { CompositionRoot } from '../composition/composition-root.ts';
import { ensureLocalAwsConnections, LOCAL_AWS_KEYS, type ConnectionOutcome } from './local-aws-connections.ts';
import { ensureDemoVariables, uploadDemoData } from './demo-data.ts';
import { removeStackState, writeStackState } from './standalone-state-file.ts';

export interface EmbeddedLocalAwsOptions {
  /** 0 (default): any free port. */
  port?: number;
  /** Default `$home/local-aws` (or a temp-free path under the given home). */
  dataDir?: string;
  region?: string;
  faults?: Partial<FaultConfig>;
}

export interface EmbeddedWebserverOptions {
  host?: string;
  /** Default 8080; when that port is taken and `portFallback` is on, any free port. */
  port?: number;
  portFallback?: boolean;
  authToken?: string;
}

export interface EmbeddedStackOptions {
  logger: Logger;
  /** MongoDB to use; default MONGODB_URI, else an embedded mongodb-memory-server. */
  mongoUri?: string;
  /** DEFERFLOW_HOME: local AWS data lives under it; with `writeState`, standalone.json too. */
  home: string;
  dagsFolder?: string;
  /** The DAG processor's knobs (import timeout, rescan and re-parse intervals, parsing processes). */
  dagProcessing?: RuntimeOptions['dagProcessing'];
  /** Local AWS on (true / options) or off (false: real AWS, or the user's own emulator). Default on. */
  localAws?: boolean | EmbeddedLocalAwsOptions;
  /** Webserver on (true / options) or off. Default on. */
  webserver?: boolean | EmbeddedWebserverOptions;
  /** Time each SageMaker status step takes on the local AWS (the jobs themselves really run). */
  stageDelayMs?: number;
  /** Worker slots (default: the worker's, DEFAULTS.workerSlots). */
  slots?: number;
  /** Triggerer capacity (default the triggerer's). */
  triggererCapacity?: number;
  /** Real AWS: an SQS queue already receiving SageMaker events (`deferflow aws setup-events`). */
  eventsQueueUrl?: string;
  /** AWS connection for that queue (real AWS; default the SDK chain). */
  eventsAwsConnId?: string | null;
  /** On the local AWS: connections, demo bucket + Iris data, variables (default true). */
  seedDemo?: boolean;
  /** Record the stack in `$home/standalone.json` (default true). */
  writeState?: boolean;
  /** Scheduler loop / worker and triggerer poll periods when nothing wakes them (ms). */
  pollMs?: number;
  /** SageMaker reconcile sweep period (ms; safety net for lost events). */
  sweepIntervalMs?: number;
}

export interface EmbeddedStack {
  readonly runtime: Runtime;
  readonly store: Store;
  readonly mongoUri: string;
  /** True when the database is an embedded mongodb-memory-server that stops with the stack. */
  readonly mongoEmbedded: boolean;
  readonly awsClients: AwsClientFactory;
  readonly localAws: LocalAws | null;
  /** Where the local AWS keeps its state; S3 objects are under `<dir>/s3`. */
  readonly localAwsDataDir: string | null;
  readonly eventsQueueUrl: string | null;
  readonly webserverUrl: string | null;
  /** What happened to each seed connection (local AWS only). */
  readonly connections: Record<string, ConnectionOutcome>;
  /** Variables this start set (they were unset). */
  readonly variablesSet: string[];
  /** S3 URI of the uploaded Iris training set (local AWS only). */
  readonly demoDataUri: string | null;
  /** Environment that points other CLI invocations at this stack. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** Start everything; on a failure part-way, what had started is stopped again before rethrowing. */
export async function startEmbeddedStack(opts: EmbeddedStackOptions): Promise<EmbeddedStack> {
  const log = opts.logger.child({ component: 'standalone' });
  const root = await CompositionRoot.open({ logger: opts.logger, mongoUri: opts.mongoUri });
  try {
    const { store } = root;
    const { awsClients } = await root.services();
    let localAws: LocalAws | null = null;
    let localAwsDataDir: string | null = null;
    let eventsQueueUrl: string | null = opts.eventsQueueUrl ?? null;
    let connections: Record<string, ConnectionOutcome> = {};
    let variablesSet: string[] = [];
    let demoDataUri: string | null = null;
    const eventSources: EventSource[] = [];
    // This deployment's own event stream: its queue and rule, and never another deployment's events.
    const deploymentId = await deploymentIdOf(store);

    if (opts.localAws !== false) {
      const la = typeof opts.localAws === 'object' ? opts.localAws : {};
      localAwsDataDir = la.dataDir ?? join(opts.home, 'local-aws');
      const faults: Partial<FaultConfig> = { ...(la.faults ?? {}) };
      if (opts.stageDelayMs !== undefined) faults.stageDelayMs = opts.stageDelayMs;
      localAws = await root.startLocalAws({ dataDir: localAwsDataDir, port: la.port ?? 0, region: la.region, faults });

      // Plain SDK clients straight at the local AWS: the stack's own plumbing must not depend on
      // what the user's connections say.
      const sdkConfig = { endpoint: localAws.url, region: localAws.region, credentials: { ...LOCAL_AWS_KEYS }, forcePathStyle: true };
      const sqs = new SQSClient(sdkConfig);
      const events = new EventBridgeClient(sdkConfig);
      const s3 = new S3Client(sdkConfig);
      root.onStop('local aws clients', () => {
        sqs.destroy();
        events.destroy();
        s3.destroy();
      });
      const wiring = await setupSageMakerEvents({ clients: { sqs: () => sqs, eventBridge: () => events }, deploymentId });
      eventsQueueUrl = wiring.queueUrl;
      // Short long-polls: an event is delivered the moment it lands either way; the wait only bounds stop().
      eventSources.push(
        new SqsEventSource({
          client: sqs,
          queueUrl: wiring.queueUrl,
          waitTimeSeconds: 5,
          othersEvent: othersEventFor(deploymentId),
          logger: opts.logger.child({ component: 'sqs-events' }),
        }),
      );

      if (opts.seedDemo !== false) {
        connections = await ensureLocalAwsConnections(store, localAws.url, localAws.region);
        awsClients.invalidate();
        demoDataUri = await uploadDemoData(s3);
        variablesSet = await ensureDemoVariables(store);
      }
      log.info({ url: localAws.url, dataDir: localAwsDataDir, queue: wiring.queueUrl, connections }, 'local AWS ready');
    } else {
      // Real AWS: the queue given, else this deployment's own if `aws setup-events` made it.
      const sqs = awsClients.sqs(opts.eventsAwsConnId ?? null);
      eventsQueueUrl ??= await findDeploymentQueue(sqs, deploymentId).catch(() => null);
      if (eventsQueueUrl) {
        eventSources.push(
          new SqsEventSource({
            client: sqs,
            queueUrl: eventsQueueUrl,
            othersEvent: othersEventFor(deploymentId),
            logger: opts.logger.child({ component: 'sqs-events' }),
          }),
        );
      }
    }

    const pollMs = opts.pollMs ?? 250;
    const runtime = await Runtime.create({
      root,
      dagsFolder: opts.dagsFolder,
      dagProcessing: opts.dagProcessing,
      eventSources,
      components: {
        scheduler: { loopIntervalMs: pollMs },
        worker: { slots: opts.slots, pollIntervalMs: pollMs },
        triggerer: {
          pollIntervalMs: pollMs,
          ...(opts.triggererCapacity ? { capacity: opts.triggererCapacity } : {}),
          ...(opts.sweepIntervalMs ? { sweepIntervalMs: opts.sweepIntervalMs } : {}),
        },
      },
    });
    for (const e of runtime.dagBag.importErrors) log.warn({ file: e.file }, `DAG import error: ${e.message}`);
    await runtime.start();

    let webserverUrl: string | null = null;
    if (opts.webserver !== false) {
      const ws = typeof opts.webserver === 'object' ? opts.webserver : {};
      const server = await root.startWebserver({
        dagBag: runtime.dagBag,
        host: ws.host,
        port: ws.port,
        portFallback: ws.portFallback,
        auth: ws.authToken ? { token: ws.authToken } : undefined,
      });
      webserverUrl = server.url;
    }

    const mongoUri = root.mongo.uri!;
    const env: Record<string, string> = { MONGODB_URI: mongoUri, DEFERFLOW_HOME: opts.home };
    if (opts.writeState !== false) {
      writeStackState(opts.home, {
        mongoUri,
        pid: process.pid,
        startedAt: new Date().toISOString(),
        ...(webserverUrl ? { webserverUrl } : {}),
        ...(localAws ? { localAwsUrl: localAws.url, localAwsDataDir: localAwsDataDir ?? undefined } : {}),
        ...(eventsQueueUrl ? { eventsQueueUrl } : {}),
      });
      root.onStop('state file', () => removeStackState(opts.home));
    }

    return {
      runtime,
      store,
      mongoUri,
      mongoEmbedded: root.mongo.embedded,
      awsClients,
      localAws,
      localAwsDataDir,
      eventsQueueUrl,
      webserverUrl,
      connections,
      variablesSet,
      demoDataUri,
      env,
      stop: () => root.stop(),
    };
  } catch (e) {
    await root.stop();
    throw e;
  }
}
