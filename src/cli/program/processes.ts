/**
 * The long-running process commands as commander sees them: `standalone`, `webserver`,
 * `scheduler`, `worker`, `triggerer`, `dag-processor`, `local-aws`, and `start`. Each
 * implementation — and through it the composition root, fastify, the AWS SDK, the local AWS — is
 * imported only when its command runs.
 */
import type { Command } from 'commander';
import { action, type Opts } from '../command-kit.ts';
import { DEFAULTS } from '../../config/defaults.ts';

/** `--host` / `--port` of the commands that serve the webserver. */
export const hostPortFlags = (opts: Opts) => ({ webserverHost: opts.host as string | undefined, webserverPort: opts.port as string | undefined });

const processes = () => import('../commands/processes.ts');

const METRICS_FLAG = '--metrics-port <port>';
const METRICS_HELP = 'serve /metrics and /health on this port (DEFERFLOW_METRICS_PORT, host DEFERFLOW_METRICS_HOST; 0 = any free port; default off)';
const metricsPortFlag = (opts: Opts) => ({ metricsPort: opts.metricsPort as string | undefined });

export function registerProcessCommands(program: Command): void {
  program
    .command('start')
    .description('Run the seed pipeline (sagemaker_pipeline) end to end with everything embedded, showing live progress')
    .option('--serve', 'keep the webserver (UI + API) running after the run, until Ctrl-C')
    .option('--dag <dag_id>', 'the DAG to run (default sagemaker_pipeline)')
    .option('--timeout <seconds>', 'give up waiting for the run after this long (default 600)')
    .action(action(async () => (await import('../commands/start.ts')).start));
  program
    .command('standalone')
    .description('Run everything in one process: MongoDB (embedded unless MONGODB_URI), local AWS, scheduler, worker, triggerer, webserver')
    .option('-H, --host <host>', `webserver bind address (DEFERFLOW_WEBSERVER_HOST; default ${DEFAULTS.webserverHost})`)
    .option('-p, --port <port>', `webserver port (DEFERFLOW_WEBSERVER_PORT; default ${DEFAULTS.webserverPort}, or a free one when it is taken)`)
    .action(action(async () => (await import('../commands/standalone.ts')).standalone, hostPortFlags));
  program
    .command('webserver')
    .description('Serve the REST API, the UI and /metrics')
    .option('-H, --host <host>', `bind address (DEFERFLOW_WEBSERVER_HOST; default ${DEFAULTS.webserverHost})`)
    .option('-p, --port <port>', `port (DEFERFLOW_WEBSERVER_PORT; default ${DEFAULTS.webserverPort})`)
    .action(action(async () => (await processes()).webserver, hostPortFlags));
  program
    .command('scheduler')
    .description('Run the scheduler: create DAG runs, decide ready tasks, retries and timeouts')
    .option(METRICS_FLAG, METRICS_HELP)
    .action(action(async () => (await processes()).scheduler, metricsPortFlag));
  program
    .command('worker')
    .description('Run a worker: execute queued tasks up to --slots at once')
    .option('-s, --slots <n>', `tasks run at once (DEFERFLOW_WORKER_SLOTS; default ${DEFAULTS.workerSlots})`)
    .option('-q, --queues <names>', 'only these queues, comma-separated (default: all)')
    .option(METRICS_FLAG, METRICS_HELP)
    .action(
      action(
        async () => (await processes()).worker,
        (o) => ({ workerSlots: o.slots as string | undefined, ...metricsPortFlag(o) }),
      ),
    );
  program
    .command('triggerer')
    .description("Run a triggerer: hold deferred tasks' triggers and resume them when their events arrive")
    .option('--capacity <n>', `triggers held at most (DEFERFLOW_TRIGGERER_CAPACITY; default ${DEFAULTS.triggererCapacity})`)
    .option('--events-queue-url <url>', 'SQS queue receiving SageMaker state-change events (DEFERFLOW_EVENTS_QUEUE_URL; see `aws setup-events`)')
    .option('--aws-conn-id <conn_id>', 'AWS connection for the queue (default: the SDK default chain)')
    .option(METRICS_FLAG, METRICS_HELP)
    .action(
      action(
        async () => (await processes()).triggerer,
        (o) => ({ triggererCapacity: o.capacity as string | undefined, ...metricsPortFlag(o) }),
      ),
    );
  program
    .command('dag-processor')
    .description('Run the DAG processor: parse the DAGs folder in child processes and record DAGs and import errors')
    .option('-n, --num-runs <n>', 'parse the folder this many times, then exit (default: run until stopped)')
    .action(action(async () => (await import('../commands/dag-processor.ts')).dagProcessor));
  program
    .command('local-aws')
    .description('Run the local AWS (SageMaker, S3, EventBridge, SQS, CloudWatch Logs, STS) for work without an AWS account')
    .option('-p, --port <port>', `port (DEFERFLOW_LOCAL_AWS_PORT; default ${DEFAULTS.localAwsPort})`)
    .option('--data-dir <dir>', 'where buckets, queues and jobs persist (DEFERFLOW_LOCAL_AWS_DATA_DIR)')
    .action(
      action(
        async () => (await processes()).localAws,
        (o) => ({ localAwsPort: o.port as string | undefined, localAwsDataDir: o.dataDir as string | undefined }),
      ),
    );
}
