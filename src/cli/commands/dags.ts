/**
 * `deferflow dags …` — Airflow 2's dags CLI: list, list-import-errors, trigger, test, pause,
 * unpause, state, show. Listing parses the DAGs folder (as Airflow does, in child processes) and
 * records nothing: DAGs and import errors in the database are the DAG processor's alone.
 */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { NotFoundError } from '../../errors/not-found-error.ts';
import type { DagDefinition as DAG } from '../../dag-processing/dag-definition.ts';
import { DagRepository } from '../../store/repositories/dag-repository.ts';
import { AppContext } from '../../app/app-context.ts';
import { RUN_ID_PATTERN, triggerDagRun } from '../../app/use-cases/trigger-dag-run.ts';
import { setDagPaused } from '../../app/use-cases/pause-dag.ts';
import { action, type Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { findDagRun, loadDagBag, requireDag, requireRecordedDag } from '../dag-lookup.ts';
import { printMessage, printObject, printRows, printScalar, toJsonValue } from '../output/renderer.ts';
import { dagIdArg, jsonObject, logicalDate, validate } from '../validation.ts';

/** The store when one is configured (MONGODB_URI or a running standalone), else null. */
async function optionalStore(ctx: CliContext) {
  try {
    ctx.mongoUri();
  } catch {
    return null;
  }
  return ctx.store();
}

async function listDags(ctx: CliContext): Promise<void> {
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

async function listImportErrors(ctx: CliContext): Promise<void> {
  const bag = await loadDagBag(ctx);
  const rows = bag.importErrors.map((e) => ({ filepath: e.file, error: ctx.format === 'table' ? e.message : e.stack }));
  printRows(ctx.writer, ctx.format, rows, [{ key: 'filepath' }, { key: 'error' }], 'No data found');
  // Airflow exits 1 when there are import errors, so CI can gate on this command.
  if (rows.length) process.exitCode = 1;
}

const triggerInput = z.object({
  dagId: dagIdArg,
  execDate: logicalDate.optional(),
  conf: jsonObject.optional(),
  runId: z.string().regex(RUN_ID_PATTERN, "must be 1-250 letters, digits or '_.:+-~'").optional(),
});

async function triggerDag(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  const input = validate(
    triggerInput,
    { dagId: args[0], execDate: opts.execDate, conf: opts.conf, runId: opts.runId },
    { dagId: 'DAG_ID', execDate: '--exec-date', conf: '--conf', runId: '--run-id' },
    'Cannot trigger',
  );
  const store = await ctx.store();
  // As recorded by the DAG processor, else as this command parses it; a run of a DAG no
  // scheduler has yet waits for one (and is flagged on the run if none can load it).
  const dag = await requireRecordedDag(ctx, store, input.dagId);
  const run = await triggerDagRun(new AppContext({ store, dags: { getDag: (id) => (id === dag.dagId ? dag : undefined) } }), {
    dagId: dag.dagId,
    runId: input.runId,
    logicalDate: input.execDate,
    conf: input.conf ?? {},
  });
  const row = {
    dag_id: run.dag_id,
    dag_run_id: run.run_id,
    logical_date: run.logical_date,
    data_interval_start: run.data_interval_start,
    data_interval_end: run.data_interval_end,
    run_type: run.run_type,
    state: run.state,
    conf: run.conf,
  };
  if (ctx.format === 'json') {
    ctx.writer.out(JSON.stringify(toJsonValue({ ...row, conf: JSON.parse(run.conf) as unknown }), null, 2));
    return;
  }
  printRows(
    ctx.writer,
    ctx.format,
    [row],
    Object.keys(row).map((k) => ({ key: k, state: k === 'state' })),
  );
}

async function setPaused(ctx: CliContext, args: Array<string | undefined>, paused: boolean): Promise<void> {
  const dagId = validate(dagIdArg, args[0], { '': 'DAG_ID' }, 'Invalid DAG id');
  const store = await ctx.store();
  const app = new AppContext({ store });
  const doc = await setDagPaused(app, dagId, paused);
  if (!doc) {
    // Not recorded yet: it must be in the folder (else DAG_NOT_FOUND says where we looked); record it.
    await requireDag(ctx, dagId);
    throw new NotFoundError(
      'DAG_NOT_FOUND',
      `DAG '${dagId}' is in ${ctx.settings.dagsFolder} but not recorded in the database yet: the DAG processor records DAGs once it has parsed their files`,
      'Start `deferflow scheduler` (it runs a DAG processor) or `deferflow dag-processor` on this DAGs folder, then retry.',
    );
  }
  printMessage(ctx.writer, ctx.format, `Dag: ${doc.dag_id}, paused: ${doc.is_paused}`, { dag_id: doc.dag_id, is_paused: doc.is_paused });
}

async function dagState(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const { dagId, date } = validate(
    z.object({ dagId: dagIdArg, date: z.string({ error: 'is required' }).min(1, 'is required') }),
    { dagId: args[0], date: args[1] },
    { dagId: 'DAG_ID', date: 'LOGICAL_DATE' },
    'Invalid input',
  );
  const store = await ctx.store();
  const run = await findDagRun(store, dagId, date);
  // Airflow prints None for a date without a run.
  if (ctx.format === 'json') {
    printScalar(ctx.writer, 'json', run?.state ?? null, 'state');
    return;
  }
  const conf = run ? (JSON.parse(run.conf) as Record<string, unknown>) : {};
  ctx.writer.out(`${run?.state ?? 'None'}${Object.keys(conf).length ? `, ${JSON.stringify(conf)}` : ''}`);
  // Airflow's one line stays on stdout; why the run cannot move goes to stderr.
  if (run?.dag_load_error) ctx.writer.err(`Warning: no scheduler can load this run's DAG: ${run.dag_load_error}`);
}

/** Graphviz DOT of the DAG (what `airflow dags show` prints); json: tasks and their edges. */
async function showDag(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
  const dagId = validate(dagIdArg, args[0], { '': 'DAG_ID' }, 'Invalid DAG id');
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

export function registerDagsCommands(program: Command): void {
  const dags = program.command('dags').description('Manage DAGs');
  dags.command('list').description('List the DAGs in the DAGs folder').action(action(listDags));
  dags.command('list-import-errors').description('List DAG files that failed to import (exit 1 when any)').action(action(listImportErrors));
  dags
    .command('trigger')
    .description('Trigger a DAG run')
    .argument('<dag_id>', 'the DAG id')
    .option('-e, --exec-date <date>', 'logical date of the run (2025-04-09 or ISO 8601); default now')
    .option('-c, --conf <json>', 'run conf as a JSON object, e.g. \'{"key": "value"}\'')
    .option('-r, --run-id <run_id>', 'run id; default manual__<logical date>')
    .action(action(triggerDag));
  dags
    .command('test')
    .description('Run one DAG run to completion in this process (scheduler, worker and triggerer here), showing task states live')
    .argument('<dag_id>', 'the DAG id')
    .argument('[execution_date]', 'logical date (2025-04-09 or ISO 8601); default now')
    .option('-c, --conf <json>', 'run conf as a JSON object')
    .option('--timeout <seconds>', 'give up after this many seconds', '3600')
    .action(action(async (ctx, args, opts) => (await import('./dag-test.ts')).runDagTest(ctx, args, opts)));
  dags
    .command('pause')
    .description('Pause a DAG')
    .argument('<dag_id>', 'the DAG id')
    .action(action((ctx, args) => setPaused(ctx, args, true)));
  dags
    .command('unpause')
    .description('Resume a paused DAG')
    .argument('<dag_id>', 'the DAG id')
    .action(action((ctx, args) => setPaused(ctx, args, false)));
  dags
    .command('state')
    .description('Print the state of the DAG run at a logical date')
    .argument('<dag_id>', 'the DAG id')
    .argument('<execution_date>', 'logical date or run id')
    .action(action(dagState));
  dags.command('show').description('Print the DAG as Graphviz DOT (json: tasks and edges)').argument('<dag_id>', 'the DAG id').action(action(showDag));
}
