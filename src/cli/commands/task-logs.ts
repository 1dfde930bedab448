/**
 * `deferflow tasks logs DAG RUN TASK [--try N] [--follow]` — a task instance's log, secrets masked,
 * one `[timestamp] LEVEL - message` line each. `--try N` for a try that never ran is an error, as
 * it is in Airflow; without `--try`, the latest try (with `--follow`, the first one once it starts).
 */
import { z } from 'zod';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { FINISHED_TI_STATES } from '../../store/schema.ts';
import { TaskLogRepository } from '../../store/repositories/task-log-repository.ts';
import { getTaskInstanceById } from '../../app/queries/task-instance-queries.ts';
import { maskSecrets } from '../../connections/secret-masker.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { findTaskInstance, runRef } from '../dag-lookup.ts';
import { formatTimestamp } from '../output/renderer.ts';
import { dagIdArg, positiveIntString, taskIdArg, validate } from '../validation.ts';

const logsInput = z.object({
  dagId: dagIdArg,
  run: runRef,
  taskId: taskIdArg,
  tryNumber: positiveIntString('--try').optional(),
  follow: z.boolean().optional(),
});

export async function taskLogs(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const input = validate(
    logsInput,
    { dagId: args[0], run: args[1], taskId: args[2], tryNumber: opts.try, follow: opts.follow },
    { dagId: 'DAG_ID', run: 'EXECUTION_DATE_OR_RUN_ID', taskId: 'TASK_ID', tryNumber: '--try' },
    'Invalid input',
  );
  const store = await ctx.store();
  const { ti } = await findTaskInstance(store, input.dagId, input.run, input.taskId);
  if (!ti)
    throw new NotFoundError(
      'TASK_INSTANCE_NOT_FOUND',
      `Task instance ${input.dagId}.${input.taskId} of run '${input.run}' not found`,
      'Check the task id with `deferflow tasks list DAG_ID`.',
    );
  if (input.tryNumber !== undefined && input.tryNumber > ti.try_number) {
    throw new NotFoundError(
      'TASK_INSTANCE_NOT_FOUND',
      `Try ${input.tryNumber} of ${input.dagId}.${input.taskId} (run ${ti.run_id}) never ran: ${ti.try_number === 0 ? 'no try has started yet' : `it has run ${ti.try_number} time(s)`} (state: ${ti.state ?? 'none'})`,
      ti.try_number === 0
        ? 'Follow it with `--follow` (without --try) to see its first try once it starts.'
        : `Give --try 1 to ${ti.try_number}, or leave --try out for the latest.`,
    );
  }
  const repo = new TaskLogRepository(store);
  const tryNumber = input.tryNumber ?? Math.max(1, ti.try_number);
  let after = -1;
  const print = (lines: Awaited<ReturnType<TaskLogRepository['read']>>): void => {
    for (const l of lines) {
      after = Math.max(after, l.seq);
      const msg = maskSecrets(l.msg);
      if (ctx.format === 'json') ctx.writer.out(JSON.stringify({ ts: formatTimestamp(l.ts), level: l.level, try_number: l.try_number, msg }));
      else ctx.writer.out(`[${formatTimestamp(l.ts)}] ${l.level.toUpperCase()} - ${msg}`);
    }
  };
  print(await repo.read(ti._id, tryNumber));
  if (!input.follow) {
    if (after < 0 && ctx.format !== 'json')
      ctx.writer.err(`No log lines for try ${tryNumber} of ${input.dagId}.${input.taskId} (state: ${ti.state ?? 'none'})`);
    return;
  }
  // Tail until the try is over (finished, or a later try started) and nothing more arrives.
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const lines = await repo.read(ti._id, tryNumber, { afterSeq: after });
    print(lines);
    if (lines.length) continue;
    const now = await getTaskInstanceById(store, ti._id);
    const over = !now || now.try_number > tryNumber || (FINISHED_TI_STATES as readonly (string | null)[]).includes(now.state) || now.state === 'up_for_retry';
    if (over) return;
  }
}
