/**
 * Embedded local AWS: SageMaker (+ Runtime), S3, EventBridge, SQS, CloudWatch
 * Logs and STS on one loopback port, speaking the real wire protocols of the
 * AWS SDK v3 clients, so code under test only changes its endpoint.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { Faults } from './config.ts';
import { EventBusService } from './eventbridge/bus.ts';
import { ProcessRunner } from './jobs/runner.ts';
import { LogsStore } from './logs/store.ts';
import { Persistence } from './persistence.ts';
import { S3Store } from './s3/store.ts';
import { SageMakerService } from './sagemaker/service.ts';
import { Scheduler } from './scheduler.ts';
import { createLocalAwsServer } from './server.ts';
import { SqsQueues } from './sqs/queues.ts';
import { StsService } from './sts/handler.ts';
import type { FaultConfig, LocalAws, LocalAwsOptions } from './types.ts';

export type { EventBridgeEvent, FaultConfig, LocalAws, LocalAwsOptions, ScriptImage } from './types.ts';
export { DEFAULT_FAULTS } from './config.ts';
export { matchesEventPattern, validateEventPattern } from '../events/event-pattern.ts';

export async function startLocalAws(opts: LocalAwsOptions): Promise<LocalAws> {
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '000000000000';
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger ?? pino({ level: process.env.LOCAL_AWS_LOG_LEVEL ?? 'warn' });
  mkdirSync(opts.dataDir, { recursive: true });

  const faults = new Faults(opts.faults);
  const scheduler = new Scheduler((err) => logger.error({ err }, 'local-aws: timer callback failed'));
  const persistence = new Persistence(opts.dataDir, logger);
  const s3 = new S3Store(join(opts.dataDir, 's3'));
  let baseUrl = `http://${host}:0`;
  const sqs = new SqsQueues(
    region,
    accountId,
    () => baseUrl,
    scheduler,
    () => persistence.markDirty('sqs'),
  );
  const logs = new LogsStore(() => persistence.markDirty('logs'));
  const bus = new EventBusService(region, accountId, sqs, scheduler, faults, logger, () => persistence.markDirty('events'));
  const runner = new ProcessRunner();
  const sts = new StsService(accountId, region);
  const sagemaker = new SageMakerService({
    region,
    accountId,
    dataDir: opts.dataDir,
    s3,
    logs,
    bus,
    scheduler,
    faults,
    runner,
    logger,
    scriptImages: opts.scriptImages ?? {},
    markDirty: () => persistence.markDirty('sagemaker'),
  });

  // Order matters on restore: queues and rules first, so recovery events reach them.
  persistence.register('sqs', sqs);
  persistence.register('events', bus);
  persistence.register('logs', logs);
  persistence.register('sagemaker', sagemaker);
  for (const name of ['sqs', 'events', 'logs', 'sagemaker']) persistence.load(name);

  const startedAt = Date.now();
  const server = createLocalAwsServer({
    region,
    accountId,
    s3,
    sqs,
    logs,
    bus,
    sts,
    sagemaker,
    faults,
    logger,
    baseUrl: () => baseUrl,
    health: () => ({
      status: 'ok',
      region,
      accountId,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      services: ['sagemaker', 'sagemaker-runtime', 's3', 'sqs', 'events', 'logs', 'sts'],
      runningProcesses: runner.size,
      pendingTimers: scheduler.size,
      trainingJobs: sagemaker.state.training.size,
      queues: sqs.queues.size,
    }),
  });
  // Long polls hold requests up to 20 s; keep-alive sockets must not outlive close().
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  baseUrl = `http://${urlHost}:${port}`;
  sqs.refreshUrls();
  sagemaker.recover();
  logger.info({ url: baseUrl, dataDir: opts.dataDir }, 'local-aws: listening');

  let closed: Promise<void> | null = null;
  return {
    url: baseUrl,
    port,
    region,
    accountId,
    setFaults(p: Partial<FaultConfig>) {
      faults.set(p);
    },
    events$: bus.events$.asObservable(),
    close() {
      closed ??= (async () => {
        server.close();
        sqs.closeAll();
        await sagemaker.shutdown();
        await runner.killAll();
        await persistence.close();
        scheduler.close();
        bus.close();
        server.closeAllConnections();
      })();
      return closed;
    },
  };
}
