/**
 * `deferflow dags list|list-import-errors|details|delete|next-execution|pause|unpause|show` —
 * Airflow 2's dags CLI (runs: dag-runs.ts). Listing parses the DAGs folder (as Airflow does, in
 * child processes) and records nothing: DAGs and import errors in the database are the DAG
 * processor's alone. `details`, `next-execution` and `pause` work on the DAG as the DAG processor
 * recorded it, which is what schedulers run.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { z } from 'zod';
import type { DagDefinition as DAG } from '../../dag-processing/dag-definition.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { DagDoc } from '../../store/schema.ts';
import type { Store } from '../../store/store.ts';
import { DagRepository } from '../../store/repositories/dag-repository.ts';
import { AppContext } from '../../app/app-context.ts';
import { getDag } from '../../app/queries/dag-queries.ts';
import { getImportError } from '../../app/queries/import-error-queries.ts';
import { nextScheduledRuns, scheduleFactsOf, timetableDescription } from '../../app/queries/next-dag-runs.ts';
import { deleteDag } from '../../app/use-cases/delete-dag.ts';
import { setDagPaused } from '../../app/use-cases/pause-dag.ts';
import type { Opts } from '../command-kit.ts';
import { confirmOrYes } from '../confirm.ts';
import type { CliContext } from '../context.ts';
import { loadDagBag, requireDag } from '../dag-lookup.ts';
import { formatTimestamp, printMessage, printObject, printRows } from '../output/renderer.ts';
import { dagIdArg, positiveIntString, validate } from '../validation.ts';

/** The store when one is configured (MONGODB_URI or a running standalone), else null. */
async function optionalStore(ctx: CliContext): Promise<Store | null> {
  try {
    ctx.mongoUri();
  } catch {
    return null;
  }
  return ctx.store();
}

export async function listDags(ctx: CliContext): Promise<void> {
  const bag = await loadDagBag(ctx);
  const store = await optionalStore(ctx);
  let paused = new Map<string, boolean>();
  if (store) paused = new Map((await new DagRepository(store).list()).map((d) => [d.dag_id, d.is_paused]));
  const rows = [...bag.dags.values()]
    .sort((a, b) => a.dagId.localeCompare(b.dagId))
    .map((d) => ({
      dag_id: d.dagId,
      fileloc: d.fileloc ? relative(ctx.settings.dagsFolder, d.fileloc) : '',
      owners: ownersOf(d).join(', '),
      is_paused: paused.get(d.dagId) ?? d.isPausedUponCreation,
    }));
  printRows(ctx.writer, ctx.format, rows, [{ key: 'dag_id' }, { key: 'fileloc' }, { key: 'owners' }, { key: 'is_paused' }], 'No data found');
  if (bag.importErrors.length && ctx.format !== 'json') {
    ctx.writer.err(`${bag.importErrors.length} file(s) failed to import; see \`deferflow dags list-import-errors\``);
  }
}

function ownersOf(dag: DAG): string[] {
  return [...new Set(dag.taskList.map((t) => t.owner))].sort();
}

export async function listImportErrors(ctx: CliContext): Promise<void> {
  const bag = await loadDagBag(ctx);
  const rows = bag.importErrors.map((e) => ({ filepath: e.file, error: ctx.format === 'table' ? e.message : e.stack }));
  printRows(ctx.writer, ctx.format, rows, [{ key: 'filepath' }, { key: 'error' }], 'No data found');
  // Airflow exits 1 when there are import errors, so CI can gate on this command.
  if (rows.length) process.exitCode = 1;
}

const dagIdOnly = (args: Array<string | undefined>): string => validate(dagIdArg, args[0], { '': 'DAG_ID' }, 'Invalid DAG id');

/**
 * The DAG as the DAG processor recorded it; DAG_NOT_FOUND otherwise, saying whether the DAG is in
 * the folder but not recorded yet (no DAG processor ran on it) or nowhere.
 */
async function requireStoredDag(ctx: CliContext, store: Store, dagId: string): Promise<DagDoc> {
  const doc = await getDag(store, dagId);
  if (doc) return doc;
  // Not recorded: it must be in the folder (else DAG_NOT_FOUND says where we looked).
  await requireDag(ctx, dagId);
  throw new NotFoundError(
    'DAG_NOT_FOUND',
    `DAG '${dagId}' is in ${ctx.settings.dagsFolder} but not recorded in the database yet: the DAG processor records DAGs once it has parsed their files`,
    'Start `deferflow scheduler` (it runs a DAG processor) or `deferflow dag-processor` on this DAGs folder, then retry.',
  );
}

async function setPaused(ctx: CliContext, args: Array<string | undefined>, paused: boolean): Promise<void> {
  const dagId = dagIdOnly(args);
  const store = await ctx.store();
  const app = new AppContext({ store });
  let doc = await setDagPaused(app, dagId, paused);
  if (!doc) {
    // Throws unless the DAG processor recorded it in the meantime.
    await requireStoredDag(ctx, store, dagId);
    doc = await setDagPaused(app, dagId, paused);
    if (!doc) throw new NotFoundError('DAG_NOT_FOUND', `DAG '${dagId}' not found`, 'Check the DAG id with `deferflow dags list`.');
  }
  printMessage(ctx.writer, ctx.format, `Dag: ${doc.dag_id}, paused: ${doc.is_paused}`, { dag_id: doc.dag_id, is_paused: doc.is_paused });
}

export const pauseDag = (ctx: CliContext, args: Array<string | undefined>): Promise<void> => setPaused(ctx, args, true);
export const unpauseDag = (ctx: CliContext, args: Array<string | undefined>): Promise<void> => setPaused(ctx, args, false);

/** Airflow's `dags details`: the DAG's recorded attributes, one property per row. */
export async function dagDetails(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const dagId = dagIdOnly(args);
  const store = await ctx.store();
  const doc = await requireStoredDag(ctx, store, dagId);
  const [next] = nextScheduledRuns(scheduleFactsOf(doc), 1);
  const details: Record<string, unknown> = {
    dag_id: doc.dag_id,
    is_paused: doc.is_paused,
    is_active: doc.is_active,
    last_parsed_time: doc.last_parsed_time,
    fileloc: doc.fileloc,
    owners: doc.owners,
    description: doc.description,
    schedule_interval: doc.schedule,
    timetable_description: timetableDescription(doc.schedule),
    tags: doc.tags,
    max_active_tasks: doc.max_active_tasks,
    max_active_runs: doc.max_active_runs,
    has_import_errors: doc.fileloc ? (await getImportError(store, doc.fileloc)) !== null : false,
    next_dagrun: next?.logicalDate ?? null,
    next_dagrun_data_interval_start: next?.dataInterval.start ?? null,
    next_dagrun_data_interval_end: next?.dataInterval.end ?? null,
    next_dagrun_create_after: next?.runAfter ?? null,
    catchup: doc.catchup,
    start_date: doc.start_date,
    end_date: doc.end_date,
    params: parseJson(doc.params),
    dag_version: doc.version ?? null,
    task_ids: doc.tasks.map((t) => t.task_id),
  };
  if (ctx.format === 'json') {
    // Airflow prints the details as a list of one object.
    printRows(
      ctx.writer,
      'json',
      [details],
      Object.keys(details).map((key) => ({ key })),
    );
    return;
  }
  printRows(
    ctx.writer,
    ctx.format,
    Object.entries(details).map(([property_name, v]) => ({ property_name, property_value: Array.isArray(v) ? v.join(', ') : v })),
    [{ key: 'property_name' }, { key: 'property_value' }],
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Airflow's `dags delete DAG [--yes]`: every record of the DAG; its file stays. */
export async function deleteDagCommand(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const dagId = dagIdOnly(args);
  const store = await ctx.store();
  const doc = await getDag(store, dagId);
  const go = await confirmOrYes(opts, `This will drop all existing records related to the DAG ${dagId}. Proceed? (y/n) `, {
    what: `Deleting DAG ${dagId} would drop all its records`,
    hint: 'Pass --yes to delete without asking.',
  });
  if (!go) {
    printMessage(ctx.writer, ctx.format, 'Cancelled, nothing was deleted.', { dag_id: dagId, deleted: null });
    return;
  }
  const r = await deleteDag(new AppContext({ store }), dagId);
  if (!r)
    throw new NotFoundError(
      'DAG_NOT_FOUND',
      `Dag id ${dagId} not found`,
      'Check the DAG id with `deferflow dags list` (or `dags list-runs -d DAG_ID` for its runs).',
    );
  const d = r.deleted;
  const total = d.dagRuns + d.taskInstances + d.xcom + d.taskLogs + d.triggers + (doc ? 1 : 0);
  printMessage(
    ctx.writer,
    ctx.format,
    `Removed ${total} record(s) of DAG ${dagId}: ${doc ? 'the DAG, ' : ''}${d.dagRuns} DAG run(s), ${d.taskInstances} task instance(s), ${d.xcom} XCom(s), ${d.taskLogs} task log record(s), ${d.triggers} trigger(s)`,
    {
      dag_id: dagId,
      deleted: { dag: doc ? 1 : 0, dag_runs: d.dagRuns, task_instances: d.taskInstances, xcom: d.xcom, task_logs: d.taskLogs, triggers: d.triggers },
    },
  );
  // As in Airflow: the file is not ours to delete, and the DAG processor records what it defines.
  if (doc?.fileloc && existsSync(doc.fileloc)) {
    ctx.writer.err(
      `Note: ${doc.fileloc} still exists. While it defines ${dagId}, a running DAG processor records the DAG again at its next parse of the file (as Airflow does: a fresh DAG, no runs). Delete or move the file to remove the DAG for good.`,
    );
  }
}

const nextInput = z.object({ dagId: dagIdArg, n: positiveIntString('--num-executions') });

/**
 * Airflow's `dags next-execution DAG [-n N]`: the data interval start (= logical date) of the next N
 * scheduled runs, one per line; `None` (with a warning) where the schedule has no more.
 */
export async function nextExecution(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const v = validate(nextInput, { dagId: args[0], n: opts.numExecutions ?? '1' }, { dagId: 'DAG_ID', n: '--num-executions' }, 'Invalid input');
  const store = await ctx.store();
  const doc = await requireStoredDag(ctx, store, v.dagId);
  if (doc.is_paused) ctx.writer.err('[INFO] Please be reminded this DAG is PAUSED now.');
  const runs = nextScheduledRuns(scheduleFactsOf(doc), v.n);
  if (runs.length < v.n) {
    ctx.writer.err(
      doc.start_date === null
        ? `[WARN] No following schedule can be found: the DAG has no start_date, so it is never scheduled (schedule ${JSON.stringify(doc.schedule)}).`
        : "[WARN] No following schedule can be found. This DAG may have schedule interval '@once' or `None`, or an end_date in the past.",
    );
  }
  if (ctx.format === 'json') {
    printRows(
      ctx.writer,
      'json',
      runs.map((r) => ({
        logical_date: r.logicalDate,
        data_interval_start: r.dataInterval.start,
        data_interval_end: r.dataInterval.end,
        run_after: r.runAfter,
      })),
      [{ key: 'logical_date' }, { key: 'data_interval_start' }, { key: 'data_interval_end' }, { key: 'run_after' }],
    );
    return;
  }
  // Airflow's lines: scripts read them as they are, so table and plain print the same.
  const lines = runs.map((r) => formatTimestamp(r.dataInterval.start));
  while (lines.length < v.n) lines.push('None');
  ctx.writer.out(lines.join('\n'));
}

/** Graphviz DOT of the DAG (what `airflow dags show` prints); json: tasks and their edges. */
export async function showDag(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const dagId = dagIdOnly(args);
  const dag = await requireDag(ctx, dagId);
  const order = dag.topologicalOrder();
  if (ctx.format === 'json') {
    printObject(ctx.writer, 'json', {
      dag_id: dag.dagId,
      tasks: order.map((id) => {
        const t = dag.getTask(id);
        return { task_id: id, operator: t.operatorName, trigger_rule: t.triggerRule, downstream_task_ids: [...t.downstreamTaskIds].sort() };
      }),
    });
    return;
  }
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    `digraph ${q(dag.dagId)} {`,
    `  graph [label=${q(dag.dagId)} labelloc=t rankdir=LR];`,
    '  node [shape=rectangle style="filled,rounded" fillcolor="#f0ede4"];',
  ];
  for (const id of order) lines.push(`  ${q(id)} [label=${q(`${id}\n${dag.getTask(id).operatorName}`)}];`);
  for (const id of order) for (const d of [...dag.getTask(id).downstreamTaskIds].sort()) lines.push(`  ${q(id)} -> ${q(d)};`);
  lines.push('}');
  ctx.writer.out(lines.join('\n'));
}
