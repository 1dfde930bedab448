/**
 * `deferflow start [--serve]` — the seed pipeline's front door (`npm start`): start everything
 * embedded (MongoDB unless MONGODB_URI, local AWS unless AWS is configured, scheduler, worker,
 * triggerer; the webserver with --serve), set the variables and the AWS connection the seed DAGs
 * read, upload the Iris data, trigger `sagemaker_pipeline`, show its task states live, print the
 * final table, and exit 0 only if the run succeeded (with --serve: keep serving until Ctrl-C).
 *
 * The body is owned by the engineer composing the Runtime (src/runtime/runtime.ts). Building blocks
 * already here: CliContext.storeOrEmbedded(), RunProgressView + followRun (live view fed by
 * `runtime.events$` or the state-change bus), processes.ts (webserver start), dag-test.ts (the same
 * flow for one DAG run on a scratch database).
 */
import type { Command } from 'commander';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { action, type Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';

export const SEED_DAG_ID = 'sagemaker_pipeline';

async function start(_ctx: CliContext, _args: Array<string | undefined>, _opts: Opts): Promise<void> {
  throw new DeferflowError('CONFIG_ERROR', '`deferflow start` is not available in this build yet: it needs the in-process Runtime (src/runtime/runtime.ts)', {
    hint: `Meanwhile run the seed DAG with \`deferflow dags test ${SEED_DAG_ID}\`.`,
  });
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(`Run the seed pipeline (${SEED_DAG_ID}) end to end with everything embedded, showing live progress`)
    .option('--serve', 'keep the webserver (UI + API) running after the run, until Ctrl-C')
    .action(action(start));
}
