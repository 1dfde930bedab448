/**
 * `deferflow tasks list|states-for-dag-run|state` — Airflow 2's task CLI (logs, clear, render and
 * test have modules of their own). A run is named by run id or logical date everywhere Airflow
 * allows either. Tasks print in DAG order (upstream before downstream, then definition order),
 * the order the DAG's graph reads in — not alphabetically.
 */
import { z } from 'zod';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { DagDefinition as DAG } from '../../dag-processing/dag-definition.ts';
import { getDag } from '../../app/queries/dag-queries.ts';
import { findTaskInstances } from '../../app/queries/task-instance-queries.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { findTaskInstance, requireDag, requireDagRun, runRef } from '../dag-lookup.ts';
import { printRows, printScalar, toJsonValue } from '../output/renderer.ts';
import { dagIdArg, taskIdArg, validate } from '../validation.ts';

/** Sort `ids` by their position in `order`; ids not in it (tasks removed from the DAG) go last, alphabetically. */
export function inDagOrder<T>(items: T[], idOf: (t: T) => string, order: readonly string[]): T[] {
  const rank = new Map(order.map((id, i) => [id, i] as const));
  return [...items].sort((a, b) => {
    const ra = rank.get(idOf(a)) ?? Number.MAX_SAFE_INTEGER;
    const rb = rank.get(idOf(b)) ?? Number.MAX_SAFE_INTEGER;
    return ra !== rb ? ra - rb : idOf(a).localeCompare(idOf(b));
  });
}

export async function listTasks(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const dagId = validate(dagIdArg, args[0], { '': 'DAG_ID' }, 'Invalid DAG id');
  const dag = await requireDag(ctx, dagId);
  const order = dag.topologicalOrder();
  if (opts.tree) {
    if (ctx.format === 'json') {
      ctx.writer.out(JSON.stringify(treeOf(dag, order), null, 2));
      return;
    }
    const lines: string[] = [];
    const walk = (id: string, depth: number): void => {
      const t = dag.getTask(id);
      lines.push(`${'    '.repeat(depth)}<Task(${t.operatorName}): ${id}>`);
      for (const d of inDagOrder([...t.downstreamTaskIds], (x) => x, order)) walk(d, depth + 1);
    };
    for (const r of inDagOrder(
      dag.roots.map((t) => t.taskId),
      (x) => x,
      order,
    ))
      walk(r, 0);
    ctx.writer.out(lines.join('\n'));
    return;
  }
  if (ctx.format === 'table' || ctx.format === 'plain') ctx.writer.out(order.join('\n'));
  else ctx.writer.out(JSON.stringify(order.map((task_id) => ({ task_id, operator: dag.getTask(task_id).operatorName }))));
}

interface TreeNode {
  task_id: string;
  operator: string;
  downstream: TreeNode[];
}

function treeOf(dag: DAG, order: readonly string[]): TreeNode[] {
  const node = (id: string): TreeNode => {
    const t = dag.getTask(id);
    return { task_id: id, operator: t.operatorName, downstream: inDagOrder([...t.downstreamTaskIds], (x) => x, order).map(node) };
  };
  return inDagOrder(
    dag.roots.map((t) => t.taskId),
    (x) => x,
    order,
  ).map(node);
}

const STATE_COLUMNS = [
  { key: 'dag_id' },
  { key: 'execution_date' },
  { key: 'task_id' },
  { key: 'state', state: true },
  { key: 'start_date' },
  { key: 'end_date' },
];

export async function statesForDagRun(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const { dagId, run } = validate(
    z.object({ dagId: dagIdArg, run: runRef }),
    { dagId: args[0], run: args[1] },
    { dagId: 'DAG_ID', run: 'EXECUTION_DATE_OR_RUN_ID' },
    'Invalid input',
  );
  const store = await ctx.store();
  const dagRun = await requireDagRun(store, dagId, run);
  const [tis, doc] = await Promise.all([findTaskInstances(store, { dagId, runId: dagRun.run_id }, { task_id: 1 }), getDag(store, dagId)]);
  // The recorded DAG's tasks are in DAG order; tasks the scheduler has not created rows for yet
  // are shown as "none", as Airflow would.
  const order = (doc?.tasks ?? []).map((t) => t.task_id);
  const known = new Set(tis.map((t) => t.task_id));
  const missing = order.filter((id) => !known.has(id));
  const rows = inDagOrder(
    [
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
    ],
    (r) => r.task_id,
    order,
  );
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

export async function taskState(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
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
