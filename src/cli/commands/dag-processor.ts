/**
 * `deferflow dag-processor [--num-runs N]` (Airflow's `airflow dag-processor`): the DAG processor
 * on its own — for deployments that set DEFERFLOW_STANDALONE_DAG_PROCESSOR=true so schedulers
 * parse nothing, or to record a DAGs folder once (`--num-runs 1`) without scheduling anything.
 */
import { z } from 'zod';
import { untilSignal, type Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { validate } from '../validation.ts';
import { processLogger } from './processes.ts';

const numRuns = z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1');

export async function dagProcessor(ctx: CliContext, _args: Array<string | undefined>, opts: Opts): Promise<void> {
  const runs = opts.numRuns === undefined ? undefined : validate(numRuns, opts.numRuns, { '': '--num-runs' }, 'Invalid input');
  const { DagProcessor } = await import('../../dag-processing/dag-processor.ts');
  const store = await ctx.store();
  const logger = processLogger(ctx, 'dag-processor');
  // With --num-runs the runs are whole scans: wait for the first however long its files take.
  const p = new DagProcessor({
    store,
    folder: ctx.settings.dagsFolder,
    logger,
    ...ctx.settings.dagProcessing,
    watch: runs === undefined,
    ...(runs === undefined ? {} : { startupWaitMs: Number.POSITIVE_INFINITY }),
  });
  await p.start();
  const summary = (): string => `${p.dagIds.length} DAGs, ${p.brokenFiles.length} import errors`;
  try {
    if (runs !== undefined) {
      for (let i = 1; i < runs; i++) await p.request('full');
      ctx.writer.err(`deferflow dag-processor: ${ctx.settings.dagsFolder} parsed ${runs} time(s): ${summary()}`);
      return;
    }
    ctx.writer.err(`deferflow dag-processor running on ${ctx.settings.dagsFolder} (${summary()})`);
    await untilSignal();
  } finally {
    await p.stop();
  }
}
