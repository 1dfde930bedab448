/**
 * `deferflow standalone`: every process in this one (src/standalone/embedded-stack.ts) until
 * SIGINT/SIGTERM — MongoDB (embedded unless MONGODB_URI), local AWS (unless AWS is configured) with
 * its EventBridge → SQS wiring, scheduler, worker, triggerer, webserver. It records its database in
 * `$DEFERFLOW_HOME/standalone.json`, so `deferflow dags trigger …`, `tasks states-for-dag-run …`,
 * `tasks test …` in another terminal work against it with no MONGODB_URI.
 */
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { wantsLocalAws } from '../../config/settings.ts';
import { startEmbeddedStack } from '../../standalone/embedded-stack.ts';
import { untilSignal, type Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { readStandaloneState } from '../../standalone/standalone-state-file.ts';
import { processLogger } from './processes.ts';
import { toJsonValue } from '../output/renderer.ts';

export async function standalone(ctx: CliContext, _args: Array<string | undefined>, opts: Opts): Promise<void> {
  const other = readStandaloneState(ctx.settings.home);
  if (other && other.pid !== process.pid) {
    throw new DeferflowError(
      'CONFIG_ERROR',
      `A deferflow standalone is already running (pid ${other.pid}${other.webserverUrl ? `, ${other.webserverUrl}` : ''}) for DEFERFLOW_HOME ${ctx.settings.home}`,
      {
        hint: 'Stop it first, or give this one its own DEFERFLOW_HOME.',
      },
    );
  }
  const local = wantsLocalAws(ctx.settings);
  const logger = processLogger(ctx, 'standalone');
  const stack = await startEmbeddedStack({
    logger,
    mongoUri: ctx.settings.mongoUri,
    home: ctx.settings.home,
    dagsFolder: ctx.settings.dagsFolder,
    dagProcessing: ctx.settings.dagProcessing,
    // A fixed port only when asked for (DEFERFLOW_LOCAL_AWS_PORT): the seed connections follow the stack either way.
    localAws: local ? { dataDir: ctx.settings.localAws.dataDir, port: process.env.DEFERFLOW_LOCAL_AWS_PORT ? ctx.settings.localAws.port : 0 } : false,
    webserver: {
      host: ctx.settings.webserver.host,
      port: ctx.settings.webserver.port,
      portFallback: opts.port === undefined && !process.env.DEFERFLOW_WEBSERVER_PORT,
      authToken: ctx.settings.webserver.authToken,
    },
    slots: ctx.settings.workerSlots,
    triggererCapacity: ctx.settings.triggererCapacity,
    eventsQueueUrl: process.env.DEFERFLOW_EVENTS_QUEUE_URL,
  });
  ctx.onClose(() => stack.stop());

  const exports = Object.entries(stack.env).map(([k, v]) => `export ${k}='${v}'`);
  if (ctx.format === 'json') {
    ctx.writer.out(
      JSON.stringify(
        toJsonValue({
          webserver_url: stack.webserverUrl,
          mongo_uri: stack.mongoUri,
          mongo_embedded: stack.mongoEmbedded,
          local_aws_url: stack.localAws?.url ?? null,
          local_aws_data_dir: stack.localAwsDataDir,
          events_queue_url: stack.eventsQueueUrl,
          connections: stack.connections,
          variables_set: stack.variablesSet,
          demo_data: stack.demoDataUri,
          env: stack.env,
          pid: process.pid,
        }),
      ),
    );
  } else {
    const lines = [
      `deferflow standalone is running (pid ${process.pid}) — Ctrl-C to stop`,
      `  UI and API   ${stack.webserverUrl}`,
      `  MONGODB_URI  ${stack.mongoUri}${stack.mongoEmbedded ? '  (embedded: gone when this stops)' : ''}`,
    ];
    if (stack.localAws) lines.push(`  local AWS    ${stack.localAws.url}  (data in ${stack.localAwsDataDir})`);
    if (stack.eventsQueueUrl) lines.push(`  events       EventBridge → SQS ${stack.eventsQueueUrl} → triggerer`);
    else if (!local) lines.push('  events       none configured: SageMaker jobs are found by reconcile sweeps (see `deferflow aws setup-events`)');
    const made = Object.entries(stack.connections)
      .filter(([, o]) => o !== 'kept')
      .map(([id, o]) => `${id} (${o})`);
    if (made.length) lines.push(`  connections  ${made.join(', ')} → local AWS`);
    if (stack.demoDataUri) lines.push(`  demo data    ${stack.demoDataUri}`);
    lines.push('', 'Other CLI invocations on this machine find this stack by itself (same DEFERFLOW_HOME); from elsewhere:', ...exports.map((e) => `  ${e}`));
    ctx.writer.out(lines.join('\n'));
  }
  const signal = await untilSignal();
  logger.info({ signal }, 'standalone stopping');
}
