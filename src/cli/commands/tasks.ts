/**
 * `deferflow tasks …` — Airflow 2's tasks CLI: list, states-for-dag-run, state, logs, clear, test.
 * A run is named by run id or logical date everywhere Airflow allows either.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { DagDefinition as DAG } from '../../dag-processing/dag-definition.ts';
import { FINISHED_TI_STATES, type TaskInstanceDoc, type TaskInstanceState } from '../../store/schema.ts';
import type { Store } from '../../store/store.ts';
import { TaskLogRepository } from '../../store/repositories/task-log-repository.ts';
import { AppContext } from '../../app/app-context.ts';
import { getDag } from '../../app/queries/dag-queries.ts';
import { findTaskInstances, getTaskInstance, getTaskInstanceById } from '../../app/queries/task-instance-queries.ts';
import { clearTaskInstances, FAILED_STATES, selectTaskInstancesToClear } from '../../app/use-cases/clear-task-instances.ts';
import { maskSecrets } from '../../connections/secret-masker.ts';
import { action, type Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { requireDag, requireDagRun } from '../dag-lookup.ts';
import { printMessage, printRows, printScalar, toJsonValue } from '../output/renderer.ts';
import { dagIdArg, logicalDate, positiveIntString, taskIdArg, validate } from '../validation.ts';

const RUNNING_ONLY: TaskInstanceState[] = ['running'];

const runRef = z.string({ error: 'is required' }).min(1, 'is required');

async function listTasks(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const dagId = validate(dagIdArg, args[0], { '': 'DAG_ID' }, 'Invalid DAG id');
  const dag = await requireDag(ctx, dagId);
  if (opts.tree) {
    if (ctx.format === 'json') {
      ctx.writer.out(JSON.stringify(treeOf(dag), null, 2));
      return;
    }
    const lines: string[] = [];
    const walk = (id: string, depth: number): void => {
      const t = dag.getTask(id);
      lines.push(`${'    '.repeat(depth)}<Task(${t.operatorName}): ${id}>`);
      for (const d of [...t.downstreamTaskIds].sort()) walk(d, depth + 1);
    };
    for (const r of dag.roots.map((t) => t.taskId).sort()) walk(r, 0);
    ctx.writer.out(lines.join('\n'));
    return;
  }
  const ids = [...dag.taskIds].sort();
  if (ctx.format === 'table' || ctx.format === 'plain') ctx.writer.out(ids.join('\n'));
  else ctx.writer.out(JSON.stringify(ids.map((task_id) => ({ task_id, operator: dag.getTask(task_id).operatorName }))));
}

interface TreeNode {
  task_id: string;
  operator: string;
  downstream: TreeNode[];
}

function treeOf(dag: DAG): TreeNode[] {
  const node = (id: string): TreeNode => {
    const t = dag.getTask(id);
    return { task_id: id, operator: t.operatorName, downstream: [...t.downstreamTaskIds].sort().map(node) };
  };
  return dag.roots
    .map((t) => t.taskId)
    .sort()
    .map(node);
}

const STATE_COLUMNS = [
  { key: 'dag_id' },
  { key: 'execution_date' },
  { key: 'task_id' },
  { key: 'state', state: true },
  { key: 'start_date' },
  { key: 'end_date' },
];

async function statesForDagRun(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const { dagId, run } = validate(
    z.object({ dagId: dagIdArg, run: runRef }),
    { dagId: args[0], run: args[1] },
    { dagId: 'DAG_ID', run: 'EXECUTION_DATE_OR_RUN_ID' },
    'Invalid input',
  );
  const store = await ctx.store();
  const dagRun = await requireDagRun(store, dagId, run);
  const tis = await findTaskInstances(store, { dagId, runId: dagRun.run_id }, { task_id: 1 });
  // Tasks the scheduler has not created rows for yet are shown as "none", as Airflow would.
  const known = new Set(tis.map((t) => t.task_id));
  const missing = ((await getDag(store, dagId))?.tasks ?? []).map((t) => t.task_id).filter((id) => !known.has(id));
  const rows = [
    ...tis.map((t) => ({
      dag_id: t.dag_id,
      execution_date: dagRun.logical_date,
      task_id: t.task_id,
      state: t.state,
      start_date: t.start_date,
      end_date: t.end_date,
      try_number: t.try_number,
      duration: t.duration,
    })),
    ...missing.map((id) => ({
      dag_id: dagId,
      execution_date: dagRun.logical_date,
      task_id: id,
      state: null,
      start_date: null,
      end_date: null,
      try_number: 0,
      duration: null,
    })),
  ].sort((a, b) => a.task_id.localeCompare(b.task_id));
  if (ctx.format === 'json') {
    ctx.writer.out(
      JSON.stringify(
        rows.map((r) => toJsonValue({ ...r, run_id: dagRun.run_id })),
        null,
        2,
      ),
    );
    return;
  }
  printRows(ctx.writer, ctx.format, rows, STATE_COLUMNS);
}

async function findTaskInstance(store: Store, dagId: string, run: string, taskId: string): Promise<{ ti: TaskInstanceDoc | null; runId: string }> {
  const dagRun = await requireDagRun(store, dagId, run);
  const ti = await getTaskInstance(store, dagId, dagRun.run_id, taskId);
  return { ti, runId: dagRun.run_id };
}

async function taskState(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const input = validate(
    z.object({ dagId: dagIdArg, taskId: taskIdArg, run: runRef }),
    { dagId: args[0], taskId: args[1], run: args[2] },
    { dagId: 'DAG_ID', taskId: 'TASK_ID', run: 'EXECUTION_DATE_OR_RUN_ID' },
    'Invalid input',
  );
  const store = await ctx.store();
  const { ti } = await findTaskInstance(store, input.dagId, input.run, input.taskId);
  if (!ti) {
    const doc = await getDag(store, input.dagId);
    if (doc && !doc.tasks.some((t) => t.task_id === input.taskId)) {
      throw new NotFoundError(
        'TASK_NOT_FOUND',
        `Task '${input.taskId}' not found in DAG '${input.dagId}'`,
        'List the tasks with `deferflow tasks list DAG_ID`.',
      );
    }
  }
  if (ctx.format === 'json') printScalar(ctx.writer, 'json', ti?.state ?? null, 'state');
  else ctx.writer.out(ti?.state ?? 'None');
}

const logsInput = z.object({
  dagId: dagIdArg,
  run: runRef,
  taskId: taskIdArg,
  tryNumber: positiveIntString('--try').optional(),
  follow: z.boolean().optional(),
});

async function taskLogs(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
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
  const repo = new TaskLogRepository(store);
  const tryNumber = input.tryNumber ?? Math.max(1, ti.try_number);
  let after = -1;
  const print = (lines: Awaited<ReturnType<TaskLogRepository['read']>>): void => {
    for (const l of lines) {
      after = Math.max(after, l.seq);
      const msg = maskSecrets(l.msg);
      if (ctx.format === 'json') ctx.writer.out(JSON.stringify({ ts: l.ts.toISOString(), level: l.level, try_number: l.try_number, msg }));
      else ctx.writer.out(`[${l.ts.toISOString()}] ${l.level.toUpperCase()} - ${msg}`);
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

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

async function clearTasks(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
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
  if (!opts.yes) {
    if (!process.stdin.isTTY) {
      throw new DeferflowError('INVALID_INPUT', `${tis.length} task instance(s) would be cleared, but there is no terminal to confirm on`, {
        hint: 'Pass --yes to clear without asking.',
      });
    }
    ctx.writer.err(tis.map((t) => `<TaskInstance: ${t.dag_id}.${t.task_id} ${t.run_id} [${t.state ?? 'none'}]>`).join('\n'));
    if (!(await confirm(`You are about to clear these ${tis.length} task instances. Are you sure? [y/n] `))) {
      printMessage(ctx.writer, ctx.format, 'Cancelled, nothing was cleared.', { cleared: 0 });
      return;
    }
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

export function registerTasksCommands(program: Command): void {
  const tasks = program.command('tasks').description('Manage task instances');
  tasks
    .command('list')
    .description('List the tasks of a DAG')
    .argument('<dag_id>', 'the DAG id')
    .option('-t, --tree', 'show the tasks as a tree of downstreams')
    .action(action(listTasks));
  tasks
    .command('states-for-dag-run')
    .description('Print the state of every task instance of a DAG run')
    .argument('<dag_id>', 'the DAG id')
    .argument('<execution_date_or_run_id>', 'run id or logical date')
    .action(action(statesForDagRun));
  tasks
    .command('state')
    .description('Print the state of a task instance')
    .argument('<dag_id>', 'the DAG id')
    .argument('<task_id>', 'the task id')
    .argument('<execution_date_or_run_id>', 'run id or logical date')
    .action(action(taskState));
  tasks
    .command('logs')
    .description("Print a task instance's log")
    .argument('<dag_id>', 'the DAG id')
    .argument('<execution_date_or_run_id>', 'run id or logical date')
    .argument('<task_id>', 'the task id')
    .option('--try <n>', 'try number (default: the latest)')
    .option('-f, --follow', 'keep printing new lines until the try ends')
    .action(action(taskLogs));
  tasks
    .command('clear')
    .description('Clear task instances so they run again')
    .argument('<dag_id>', 'the DAG id')
    .option('-t, --task-regex <regex>', 'only tasks whose id matches')
    .option('-s, --start-date <date>', 'only runs with a logical date from this one')
    .option('-e, --end-date <date>', 'only runs with a logical date up to this one')
    .option('-f, --only-failed', 'only failed and upstream_failed task instances')
    .option('-r, --only-running', 'only running task instances')
    .option('-d, --downstream', 'also clear the downstream tasks of the matched ones')
    .option('-u, --upstream', 'also clear the upstream tasks of the matched ones')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(action(clearTasks));
  tasks
    .command('test')
    .description('Run one task instance in this process, ignoring dependencies and without changing other tasks; prints its log and return value')
    .argument('<dag_id>', 'the DAG id')
    .argument('<task_id>', 'the task id')
    .argument('[execution_date_or_run_id]', 'logical date or run id; default now')
    .option('-t, --task-params <json>', 'params for the task as a JSON object (override DAG params)')
    .action(action(async (ctx, args, opts) => (await import('./task-test.ts')).runTaskTest(ctx, args, opts)));
}
