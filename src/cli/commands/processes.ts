/**
 * The long-running processes: `webserver`, `scheduler`, `worker`, `triggerer`, `standalone`,
 * `local-aws`. Each runs until SIGINT/SIGTERM, then stops cleanly (workers finish or hand back
 * their tries, triggerers release their triggers without touching remote jobs).
 * Each is assembled by the composition root (src/composition), imported when its command runs
 * together with the process implementations (fastify, the AWS SDK, …), so short commands like
 * `variables get` start fast.
 */
import { z } from 'zod';
import { validate } from '../validation.ts';
import { createLogger } from '../../log/logger.ts';
import { untilSignal, type Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';

export function processLogger(ctx: CliContext, name: string) {
  return createLogger({ level: ctx.settings.logLevel, format: ctx.settings.logFormat, name });
}

/** The composition root on the deployment's store (imported when a process command runs: it is heavy). */
async function openRoot(ctx: CliContext, name: string) {
  const { CompositionRoot } = await import('../../composition/composition-root.ts');
  const logger = processLogger(ctx, name);
  const root = await CompositionRoot.open({ logger, store: await ctx.store(), metrics: ctx.settings.metrics, announce: (line) => ctx.writer.err(line) });
  ctx.onClose(() => root.stop());
  return { root, logger };
}

export async function webserver(ctx: CliContext): Promise<void> {
  const { root, logger } = await openRoot(ctx, 'webserver');
  const { host, port, authToken } = ctx.settings.webserver;
  // No DAG files here: the API reads the DAGs the DAG processor recorded.
  const server = await root.startWebserver({ host, port, auth: authToken ? { token: authToken } : undefined });
  ctx.writer.err(`deferflow webserver listening on ${server.url}`);
  const signal = await untilSignal();
  logger.info({ signal }, 'webserver stopping');
  await root.stop();
}

/**
 * Scheduler: runs a DAG processor on the DAGs folder (unless DEFERFLOW_STANDALONE_DAG_PROCESSOR
 * says one runs elsewhere) and schedules the DAGs it records until stopped.
 */
export async function scheduler(ctx: CliContext): Promise<void> {
  const { root, logger } = await openRoot(ctx, 'scheduler');
  const { openDagSource } = await import('../../dag-processing/dag-sources.ts');
  const withProcessor = !ctx.settings.dagProcessing.standaloneProcessor;
  const dagBag = await openDagSource({
    store: root.store,
    logger,
    dagsFolder: ctx.settings.dagsFolder,
    processor: withProcessor,
    processing: ctx.settings.dagProcessing,
  });
  root.onStop('DAG source', () => dagBag.close());
  const { scheduler: s } = await root.createProcesses({ dagBag, scheduler: {} });
  await root.start();
  ctx.writer.err(
    `deferflow scheduler ${s!.id} running (${dagBag.size} DAGs from ${ctx.settings.dagsFolder}${withProcessor ? '' : '; DAG processor: standalone'})`,
  );
  await untilSignal();
  await root.stop();
}

const queuesFlag = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/, 'must be queue names separated by commas, e.g. default,gpu')
  .transform((q) => q.split(','));

/** Worker: claims queued task instances up to its slots; deferring tasks free their slot at once. */
export async function worker(ctx: CliContext, _args: Array<string | undefined>, opts: Opts): Promise<void> {
  const queues = opts.queues === undefined ? undefined : validate(queuesFlag, opts.queues, { '': '--queues' }, 'Invalid input');
  const { root, logger } = await openRoot(ctx, 'worker');
  const { openDagSource } = await import('../../dag-processing/dag-sources.ts');
  // DAGs as the DAG processor recorded them; a task's file is imported here only after a child
  // process imported that content cleanly.
  const dagBag = await openDagSource({
    store: root.store,
    logger,
    dagsFolder: ctx.settings.dagsFolder,
    processor: false,
    processing: ctx.settings.dagProcessing,
  });
  root.onStop('DAG source', () => dagBag.close());
  // Graceful on stop: running tries finish (or are aborted after the grace period) before we exit.
  const { worker: w } = await root.createProcesses({ dagBag, worker: { slots: ctx.settings.workerSlots, queues }, workerStop: { graceful: true } });
  await root.start();
  ctx.writer.err(`deferflow worker ${w!.id} running with ${w!.slots} slots${queues ? ` on queues ${queues.join(', ')}` : ''}`);
  await untilSignal();
  await root.stop();
}

const eventsQueueFlag = z.string().url('must be an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/deferflow-sagemaker-events');

/** Triggerer: holds deferred tasks' triggers; with --events-queue-url it consumes SageMaker events from SQS. */
export async function triggerer(ctx: CliContext, _args: Array<string | undefined>, opts: Opts): Promise<void> {
  const queueUrl = (opts.eventsQueueUrl as string | undefined) ?? process.env.DEFERFLOW_EVENTS_QUEUE_URL;
  const url =
    queueUrl === undefined
      ? undefined
      : validate(eventsQueueFlag, queueUrl, { '': opts.eventsQueueUrl ? '--events-queue-url' : 'DEFERFLOW_EVENTS_QUEUE_URL' }, 'Invalid input');
  const { root, logger } = await openRoot(ctx, 'triggerer');
  const { awsClients } = await root.services();
  const awsConnId = (opts.awsConnId as string | undefined) ?? null;
  const [{ SqsEventSource }, { findDeploymentQueue, othersEventFor }, { deploymentIdOf }] = await Promise.all([
    import('../../../triggerer/sources/sqs-event-source.ts'),
    import('../../providers/aws/deployment-events.ts'),
    import('../../store/repositories/deployment-repository.ts'),
  ]);
  // Without a URL, the deployment's own queue (`aws setup-events` made it); another deployment's events are never deleted.
  const deploymentId = await deploymentIdOf(root.store);
  const sqs = awsClients.sqs(awsConnId);
  const queue = url ?? (await findDeploymentQueue(sqs, deploymentId).catch(() => null));
  const eventSources = queue ? [new SqsEventSource({ client: sqs, queueUrl: queue, othersEvent: othersEventFor(deploymentId), logger })] : [];
  const { triggerer: t } = await root.createProcesses({ eventSources, triggerer: { capacity: ctx.settings.triggererCapacity } });
  await root.start();
  ctx.writer.err(
    `deferflow triggerer ${t!.id} running (capacity ${ctx.settings.triggererCapacity}${queue ? `, events from ${queue}` : `, no event queue for deployment ${deploymentId}: SageMaker jobs are found by reconcile sweeps (see \`aws setup-events\`)`})`,
  );
  await untilSignal();
  // Releases the triggers for adoption; never cancels the remote jobs.
  await root.stop();
}

export async function localAws(ctx: CliContext): Promise<void> {
  const { runLocalAwsCli } = await import('../../local-aws/main.ts');
  await runLocalAwsCli({
    port: ctx.settings.localAws.port,
    dataDir: ctx.settings.localAws.dataDir,
    out: (l) => ctx.writer.out(l),
    // Quiet (warnings) unless a log level is asked for: its startup lines above say what matters.
    logger: createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ? ctx.settings.logLevel : 'warn', format: ctx.settings.logFormat, name: 'local-aws' }),
  });
}
