/**
 * `deferflow tasks test DAG TASK [DATE|RUN_ID]` (Airflow's `tasks test`): run one task instance in
 * this process — ignoring its dependencies, leaving every other task and the deployment's database
 * alone (scratch database, see in-process.ts) — then print its log and return value. A task that
 * defers is resumed here too (triggerer in-process). One try only, as in Airflow: a try that
 * would be retried counts as failed. Exit 0 only on success.
 */
import { z } from 'zod';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { TaskLogRepository } from '../../store/repositories/task-log-repository.ts';
import { XComRepository } from '../../store/repositories/xcom-repository.ts';
import { FINISHED_TI_STATES, taskInstanceId, type TaskInstanceDoc } from '../../store/schema.ts';
import { maskSecrets } from '../../connections/secret-masker.ts';
import { findDagRun } from '../../app/queries/dag-run-queries.ts';
import { getTaskInstanceById } from '../../app/queries/task-instance-queries.ts';
import { triggerDagRun } from '../../app/use-cases/trigger-dag-run.ts';
import { waitForTaskInstance } from '../../app/use-cases/watch-changes.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { requireLiveDag } from '../dag-lookup.ts';
import { InProcessRuntime, inProcessLogger, openScratchStore } from '../in-process.ts';
import { provideLocalAwsForTest } from '../../standalone/local-aws-for-test.ts';
import { formatTimestamp, toJsonValue } from '../output/renderer.ts';
import { formatState } from '../output/state-colors.ts';
import { dagIdArg, jsonObject, logicalDate, taskIdArg, validate } from '../validation.ts';

const input = z.object({ dagId: dagIdArg, taskId: taskIdArg, when: z.string().min(1).optional(), params: jsonObject.optional() });

const DONE: ReadonlySet<string | null> = new Set<string | null>([...FINISHED_TI_STATES, 'up_for_retry', 'up_for_reschedule']);

export async function runTaskTest(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const v = validate(
    input,
    { dagId: args[0], taskId: args[1], when: args[2], params: opts.taskParams },
    { dagId: 'DAG_ID', taskId: 'TASK_ID', when: 'EXECUTION_DATE_OR_RUN_ID', params: '--task-params' },
    'Cannot test the task',
  );
  const dag = await requireLiveDag(ctx, v.dagId);
  if (!dag.hasTask(v.taskId)) {
    throw new NotFoundError('TASK_NOT_FOUND', `Task '${v.taskId}' not found in DAG '${v.dagId}'`, `The DAG has: ${dag.taskIds.sort().join(', ')}`);
  }
  const scratch = await openScratchStore(ctx, 'tasktest');
  ctx.onClose(() => scratch.close());
  // No AWS configured and no stack running: a local AWS for this command (see local-aws-for-test.ts).
  const localAws = await provideLocalAwsForTest({ settings: ctx.settings, dag, store: scratch.store });
  if (localAws) ctx.onClose(() => localAws.close());

  // The date: a logical date, or the run id of an existing run (its date and conf are reused).
  let logical = new Date();
  let conf: Record<string, unknown> = {};
  if (v.when) {
    const asDate = logicalDate.safeParse(v.when);
    if (asDate.success) logical = asDate.data;
    else {
      const existing = scratch.source ? await findDagRun(scratch.source, v.dagId, v.when) : null;
      if (!existing) {
        throw new DeferflowError(
          'INVALID_INPUT',
          `EXECUTION_DATE_OR_RUN_ID: ${JSON.stringify(v.when)} is neither a date nor the run id of a run of ${v.dagId}`,
          { hint: 'Use a logical date such as 2025-04-09, or a run id from `deferflow tasks states-for-dag-run`.' },
        );
      }
      logical = existing.logical_date;
      conf = JSON.parse(existing.conf) as Record<string, unknown>;
    }
  }
  conf = { ...conf, ...(v.params ?? {}) };

  const { store } = scratch;
  const runtime = await InProcessRuntime.open({
    store,
    dag,
    logger: inProcessLogger(ctx),
    components: { scheduler: false, worker: true, triggerer: true },
    slots: 1,
  });
  ctx.onClose(() => runtime.stop());
  await runtime.dagBag.syncToStore(store);
  const app = runtime.app;
  // Only this task's instance exists: no upstream to wait for, nothing downstream to start.
  const created = await triggerDagRun(app, { dagId: dag.dagId, logicalDate: logical, conf, onlyTasks: [v.taskId] });
  // This command plays the scheduler for its one task: it starts the run and queues the task itself.
  const run = (await app.runs.start(created._id)) ?? created;
  const tis = app.tis;
  const tiId = taskInstanceId(dag.dagId, run.run_id, v.taskId);

  // No scheduler here: queue the task ourselves, first and after a deferral resumes it.
  const requeue = runtime.bus.changes$.subscribe((c) => {
    if (c.kind === 'task_instance' && c.ti._id === tiId && c.ti.state === 'scheduled') void tis.queue(tiId);
  });
  ctx.onClose(async () => requeue.unsubscribe());
  await runtime.start();
  await tis.schedule(tiId);

  // The bus tells at once; the feed's poll is a safety net.
  await waitForTaskInstance(app, { _id: tiId, dag_id: dag.dagId, run_id: run.run_id }, (t) => DONE.has(t.state), { pollMs: 500 });
  await runtime.stop();
  const ti = (await getTaskInstanceById(store, tiId)) as TaskInstanceDoc;
  const lines = await new TaskLogRepository(store).read(tiId, Math.max(1, ti.try_number));
  const returnValue: unknown = (await new XComRepository(store).pull(dag.dagId, run.run_id, v.taskId)) ?? null;
  const state = ti.state === 'up_for_retry' ? 'failed' : ti.state;

  if (ctx.format === 'json') {
    ctx.writer.out(
      JSON.stringify(
        toJsonValue({
          dag_id: dag.dagId,
          task_id: v.taskId,
          run_id: run.run_id,
          logical_date: logical,
          state,
          try_number: ti.try_number,
          duration: ti.duration,
          error: ti.last_error,
          return_value: returnValue,
          log: lines.map((l) => ({ ts: l.ts, level: l.level, msg: maskSecrets(l.msg) })),
        }),
        null,
        2,
      ),
    );
  } else {
    for (const l of lines) ctx.writer.out(`[${formatTimestamp(l.ts)}] ${l.level.toUpperCase()} - ${maskSecrets(l.msg)}`);
    if (ctx.format === 'plain') ctx.writer.out(`state\t${state}\nreturn_value\t${JSON.stringify(returnValue)}`);
    else {
      ctx.writer.out(`Return value: ${maskSecrets(JSON.stringify(returnValue))}`);
      ctx.writer.out(
        `Task ${v.taskId}: ${formatState(state, ctx.writer.isTty && !process.env.NO_COLOR)}${ti.last_error ? ` — ${maskSecrets(ti.last_error.split('\n')[0])}` : ''}`,
      );
    }
  }
  if (state !== 'success') process.exitCode = 1;
}
