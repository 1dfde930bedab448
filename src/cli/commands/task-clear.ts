/**
 * `deferflow tasks clear DAG [-t REGEX] [-s START] [-e END] [--only-failed|--only-running]
 * [--downstream] [--upstream] [--yes]` — Airflow's: the matched task instances run again (retries
 * granted again), their runs go back to queued. Asks before clearing unless --yes.
 */
import { z } from 'zod';
import type { TaskInstanceState } from '../../store/schema.ts';
import { AppContext } from '../../app/app-context.ts';
import { clearTaskInstances, FAILED_STATES, selectTaskInstancesToClear } from '../../app/use-cases/clear-task-instances.ts';
import type { Opts } from '../command-kit.ts';
import { confirmOrYes } from '../confirm.ts';
import type { CliContext } from '../context.ts';
import { printMessage } from '../output/renderer.ts';
import { dagIdArg, logicalDate, validate } from '../validation.ts';

const RUNNING_ONLY: TaskInstanceState[] = ['running'];

const clearInput = z.object({
  dagId: dagIdArg,
  taskRegex: z
    .string()
    .optional()
    .refine((s) => {
      if (s === undefined) return true;
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    }, 'is not a valid regular expression'),
  start: logicalDate.optional(),
  end: logicalDate.optional(),
});

export async function clearTasks(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const input = validate(
    clearInput,
    { dagId: args[0], taskRegex: opts.taskRegex, start: opts.startDate, end: opts.endDate },
    { dagId: 'DAG_ID', taskRegex: '--task-regex', start: '--start-date', end: '--end-date' },
    'Invalid input',
  );
  const app = new AppContext({ store: await ctx.store() });
  const { dag: doc, tis } = await selectTaskInstancesToClear(app, {
    dagId: input.dagId,
    logicalDate: { gte: input.start, lte: input.end },
    taskIdPattern: input.taskRegex ? new RegExp(input.taskRegex) : undefined,
    includeDownstream: Boolean(opts.downstream),
    includeUpstream: Boolean(opts.upstream),
    // --only-running wins over --only-failed; it means `running` (Airflow's CLI), deferred excluded.
    states: opts.onlyRunning ? RUNNING_ONLY : opts.onlyFailed ? FAILED_STATES : undefined,
    orderBy: 'logical_date',
  });
  if (tis.length === 0) {
    printMessage(ctx.writer, ctx.format, 'No task instances to clear', { cleared: 0 });
    return;
  }
  // The list to confirm, as Airflow shows it (only when there is someone to ask).
  if (!opts.yes && process.stdin.isTTY)
    ctx.writer.err(tis.map((t) => `<TaskInstance: ${t.dag_id}.${t.task_id} ${t.run_id} [${t.state ?? 'none'}]>`).join('\n'));
  const go = await confirmOrYes(opts, `You are about to clear these ${tis.length} task instances. Are you sure? [y/n] `, {
    what: `${tis.length} task instance(s) would be cleared`,
    hint: 'Pass --yes to clear without asking.',
  });
  if (!go) {
    printMessage(ctx.writer, ctx.format, 'Cancelled, nothing was cleared.', { cleared: 0 });
    return;
  }
  const cleared = await clearTaskInstances(app, doc, tis, { resetDagRuns: true });
  printMessage(
    ctx.writer,
    ctx.format,
    `Cleared ${cleared.length} task instance(s)${cleared.length < tis.length ? `; ${tis.length - cleared.length} changed concurrently and were left alone` : ''}`,
    {
      cleared: cleared.length,
      task_instances: cleared.map((t) => ({ dag_id: t.dag_id, run_id: t.run_id, task_id: t.task_id, previous_state: t.state })),
    },
  );
}
