/**
 * `deferflow tasks render DAG TASK DATE|RUN_ID` (Airflow's `tasks render`): every template field
 * of the task, rendered with the context its worker would use for that run — the obvious way to
 * check a templated SageMaker config before anything is submitted. Nothing runs and nothing is
 * written (src/app/queries/rendered-template-fields.ts). A logical date without a run renders the
 * run `dags trigger -e DATE` would create. Secrets that reach a field (a connection's password)
 * are masked in the output.
 *
 * Output, as Airflow prints it: per field a `# property: NAME` banner, then the value (text as is,
 * anything else as indented JSON); `-o json` one object, `-o plain` one `NAME<TAB>JSON` line each.
 */
import { z } from 'zod';
import { renderTaskTemplateFields } from '../../app/queries/rendered-template-fields.ts';
import { AppContext } from '../../app/app-context.ts';
import { maskSecrets } from '../../connections/secret-masker.ts';
import { DeferflowError, isDeferflowError } from '../../errors/deferflow-error.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { getTaskInstance } from '../../app/queries/task-instance-queries.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { findDagRun, requireLiveDag, runRef } from '../dag-lookup.ts';
import { formatTimestamp, toJsonValue } from '../output/renderer.ts';
import { dagIdArg, logicalDate, taskIdArg, validate } from '../validation.ts';

const input = z.object({ dagId: dagIdArg, taskId: taskIdArg, run: runRef });

export async function renderTask(ctx: CliContext, args: Array<string | undefined>, _opts: Opts): Promise<void> {
  const v = validate(
    input,
    { dagId: args[0], taskId: args[1], run: args[2] },
    { dagId: 'DAG_ID', taskId: 'TASK_ID', run: 'EXECUTION_DATE_OR_RUN_ID' },
    'Cannot render the task',
  );
  const store = await ctx.store();
  const dag = await requireLiveDag(ctx, v.dagId);
  if (!dag.hasTask(v.taskId)) {
    throw new NotFoundError('TASK_NOT_FOUND', `Task '${v.taskId}' not found in DAG '${v.dagId}'`, `The DAG has: ${dag.topologicalOrder().join(', ')}`);
  }
  const run = await findDagRun(store, v.dagId, v.run);
  let date: Date | undefined;
  if (!run) {
    const asDate = logicalDate.safeParse(v.run);
    if (!asDate.success) {
      throw new DeferflowError(
        'INVALID_INPUT',
        `EXECUTION_DATE_OR_RUN_ID: ${JSON.stringify(v.run)} is neither a logical date nor the run id of a run of ${v.dagId}`,
        {
          hint: 'Give a logical date such as 2025-04-09, or a run id from `deferflow dags list-runs -d DAG_ID`.',
        },
      );
    }
    date = asDate.data;
  }
  const ti = run ? await getTaskInstance(store, v.dagId, run.run_id, v.taskId) : null;
  let rendered: Awaited<ReturnType<typeof renderTaskTemplateFields>>;
  try {
    rendered = await renderTaskTemplateFields(new AppContext({ store }), dag, v.taskId, { run, logicalDate: date, taskInstance: ti });
  } catch (e) {
    if (isDeferflowError(e) && e.code === 'TEMPLATE_RENDER_ERROR') {
      const field = (e as DeferflowError & { fieldPath?: string }).fieldPath;
      throw new DeferflowError('TEMPLATE_RENDER_ERROR', maskSecrets(e.message), {
        cause: e,
        hint: `Fix the template of ${field ?? 'that field'} in the DAG file; a worker would fail this task the same way.`,
      });
    }
    throw e;
  }
  if (!rendered.runExists) {
    ctx.writer.err(
      `No run of ${v.dagId} at ${formatTimestamp(rendered.logicalDate)}: rendered for the run \`dags trigger -e\` would create (${rendered.runId}; empty conf, no XComs).`,
    );
  }
  if (ctx.format === 'json') {
    const doc = {
      dag_id: rendered.dagId,
      task_id: rendered.taskId,
      run_id: rendered.runId,
      run_exists: rendered.runExists,
      logical_date: rendered.logicalDate,
      try_number: rendered.tryNumber,
      fields: Object.fromEntries(rendered.fields.map((f) => [f.name, f.value])),
    };
    ctx.writer.out(maskSecrets(JSON.stringify(toJsonValue(doc), null, 2)));
    return;
  }
  if (ctx.format === 'plain') {
    ctx.writer.out(maskSecrets(rendered.fields.map((f) => `${f.name}\t${JSON.stringify(toJsonValue(f.value))}`).join('\n')));
    return;
  }
  if (rendered.fields.length === 0) {
    ctx.writer.out(`Task ${v.taskId} (${dag.getTask(v.taskId).operatorName}) has no template fields.`);
    return;
  }
  const rule = `# ${'-'.repeat(58)}`;
  const blocks = rendered.fields.map((f) => [rule, `# property: ${f.name}`, rule, asText(f.value), ''].join('\n'));
  ctx.writer.out(maskSecrets(`\n${blocks.join('\n')}`));
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'None';
  return JSON.stringify(toJsonValue(value), null, 2);
}
