/**
 * `deferflow dags test DAG [DATE] [--conf JSON]`: one DAG run to completion inside this command —
 * scheduler, worker and triggerer here, on a scratch database (see in-process.ts) — with task
 * states shown live and a final state table. Exit 0 only when the run succeeded.
 */
import { z } from 'zod';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { triggerDagRun } from '../../app/use-cases/trigger-dag-run.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { requireLiveDag } from '../dag-lookup.ts';
import { InProcessRuntime, inProcessLogger, openScratchStore } from '../in-process.ts';
import { provideLocalAwsForTest } from '../../standalone/local-aws-for-test.ts';
import { followRun, RunProgressView } from '../output/run-progress.ts';
import { dagIdArg, jsonObject, logicalDate, positiveIntString, validate } from '../validation.ts';

const input = z.object({
  dagId: dagIdArg,
  date: logicalDate.optional(),
  conf: jsonObject.optional(),
  timeout: positiveIntString('--timeout'),
});

export async function runDagTest(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const v = validate(
    input,
    { dagId: args[0], date: args[1], conf: opts.conf, timeout: opts.timeout },
    { dagId: 'DAG_ID', date: 'EXECUTION_DATE', conf: '--conf', timeout: '--timeout' },
    'Cannot test the DAG',
  );
  const dag = await requireLiveDag(ctx, v.dagId);
  const scratch = await openScratchStore(ctx, 'dagtest');
  ctx.onClose(() => scratch.close());
  // No AWS configured and no stack running: a local AWS for this command (see local-aws-for-test.ts).
  const localAws = await provideLocalAwsForTest({ settings: ctx.settings, dag, store: scratch.store });
  if (localAws) ctx.onClose(() => localAws.close());
  const { store } = scratch;
  const runtime = await InProcessRuntime.open({ store, dag, logger: inProcessLogger(ctx), components: { scheduler: true, worker: true, triggerer: true } });
  ctx.onClose(() => runtime.stop());

  await runtime.dagBag.syncToStore(store);
  const run = await triggerDagRun(runtime.app, { dagId: dag.dagId, logicalDate: v.date, conf: v.conf ?? {} });
  await runtime.start();

  const view = new RunProgressView(ctx.writer, ctx.format);
  const timedOut = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), v.timeout * 1000).unref());
  const final = await followRun(runtime.app, dag.dagId, run.run_id, view, {
    intervalMs: 250,
    taskOrder: dag.topologicalOrder(),
    done: timedOut,
  });
  if (!final) throw new DeferflowError('DAG_RUN_NOT_FOUND', `The test run ${run.run_id} disappeared`);
  view.final(final);
  if (final.state !== 'success' && final.state !== 'failed') {
    throw new DeferflowError('RUN_WAIT_TIMEOUT', `The test run of ${dag.dagId} did not finish within ${v.timeout} s (state ${final.state})`, {
      hint: 'Raise --timeout, or look at the task states above for what is still waiting.',
    });
  }
  if (final.state !== 'success') process.exitCode = 1;
}
