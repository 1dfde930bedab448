/**
 * The long-running processes: `webserver`, `scheduler`, `worker`, `triggerer`, `standalone`,
 * `local-aws`. Each runs until SIGINT/SIGTERM, then stops cleanly (workers finish or hand back
 * their tries, triggerers release their triggers without touching remote jobs).
 */
import type { Command } from 'commander';
import { startWebserver } from '../../api/server.ts';
import { runLocalAwsCli } from '../../local-aws/main.ts';
import { createLogger } from '../../log/logger.ts';
import { action, untilSignal, type Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { loadDagBag } from '../dag-lookup.ts';

export function processLogger(ctx: CliContext, name: string) {
  return createLogger({ level: ctx.settings.logLevel, name });
}

async function webserver(ctx: CliContext): Promise<void> {
  const store = await ctx.store();
  const logger = processLogger(ctx, 'webserver');
  const dagBag = await loadDagBag(ctx);
  const { host, port, authToken } = ctx.settings.webserver;
  const server = await startWebserver({ store, dagBag, host, port, logger, auth: authToken ? { token: authToken } : undefined });
  ctx.writer.err(`deferflow webserver listening on ${server.url}`);
  const signal = await untilSignal();
  logger.info({ signal }, 'webserver stopping');
  await server.close();
}

export const hostPortFlags = (opts: Opts) => ({ webserverHost: opts.host as string | undefined, webserverPort: opts.port as string | undefined });

export function registerProcessCommands(program: Command): void {
  program
    .command('webserver')
    .description('Serve the REST API, the UI and /metrics')
    .option('-H, --host <host>', 'bind address (DEFERFLOW_WEBSERVER_HOST; default 127.0.0.1)')
    .option('-p, --port <port>', 'port (DEFERFLOW_WEBSERVER_PORT; default 8080)')
    .action(action(webserver, hostPortFlags));
  program
    .command('local-aws')
    .description('Run the local AWS (SageMaker, S3, EventBridge, SQS, CloudWatch Logs, STS) for work without an AWS account')
    .option('-p, --port <port>', 'port (DEFERFLOW_LOCAL_AWS_PORT; default 4566)')
    .option('--data-dir <dir>', 'where buckets, queues and jobs persist (DEFERFLOW_LOCAL_AWS_DATA_DIR)')
    .action(action(localAws, (o) => ({ localAwsPort: o.port as string | undefined, localAwsDataDir: o.dataDir as string | undefined })));
}

async function localAws(ctx: CliContext): Promise<void> {
  await runLocalAwsCli({ port: ctx.settings.localAws.port, dataDir: ctx.settings.localAws.dataDir, out: (l) => ctx.writer.out(l) });
}
