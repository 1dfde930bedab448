/**
 * `deferflow dags list-runs|trigger|state` — Airflow 2's commands about a DAG's runs, with its
 * arguments and output columns.
 */
import { z } from 'zod';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { DAG_RUN_STATES, type DagRunState } from '../../store/schema.ts';
import { AppContext } from '../../app/app-context.ts';
import { getDag } from '../../app/queries/dag-queries.ts';
import { findDagRuns } from '../../app/queries/dag-run-queries.ts';
import { RUN_ID_PATTERN, triggerDagRun } from '../../app/use-cases/trigger-dag-run.ts';
import type { Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { findDagRun, requireRecordedDag } from '../dag-lookup.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { printRows, printScalar, toJsonValue } from '../output/renderer.ts';
import { dagIdArg, jsonObject, logicalDate, validate } from '../validation.ts';

const listRunsInput = z
  .object({
    dagId: dagIdArg,
    state: z.enum(DAG_RUN_STATES, { error: `must be one of ${DAG_RUN_STATES.join(', ')}` }).optional(),
    start: logicalDate.optional(),
    end: logicalDate.optional(),
  })
  .refine((v) => !v.start || !v.end || v.start.getTime() <= v.end.getTime(), { path: ['end'], message: 'is before --start-date' });

/** Airflow's `dags list-runs -d DAG`: newest logical date first; dates filter the logical date. */
export async function listDagRuns(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
  if (args[0] !== undefined && opts.dagId !== undefined && args[0] !== opts.dagId) {
    throw new InvalidInputError('Invalid input', [{ path: 'DAG_ID', message: `given twice (${args[0]} and -d ${String(opts.dagId)}); give it once` }]);
  }
  const v = validate(
    listRunsInput,
    { dagId: opts.dagId ?? args[0], state: opts.state, start: opts.startDate, end: opts.endDate },
    { dagId: '-d/--dag-id', state: '--state', start: '--start-date', end: '--end-date' },
    'Invalid input',
  );
  const store = await ctx.store();
  const runs = await findDagRuns(
    store,
    {
      dagId: v.dagId,
      states: v.state ? [v.state as DagRunState] : undefined,
      logicalDate: { gte: v.start, lte: v.end },
      excludeRunTypes: opts.backfill === false ? ['backfill'] : undefined,
    },
    { logical_date: -1 },
  );
  if (runs.length === 0 && !(await getDag(store, v.dagId))) {
    // Airflow: "DAG: X does not exist in 'dag' table". A DAG with no runs yet lists none instead.
    throw new NotFoundError(
      'DAG_NOT_FOUND',
      `DAG '${v.dagId}' is not recorded in the database and has no runs`,
      'Check the DAG id with `deferflow dags list`; a DAG is recorded once a DAG processor (inside `deferflow scheduler`) has parsed its file.',
    );
  }
  const rows = runs.map((r) => ({
    dag_id: r.dag_id,
    run_id: r.run_id,
    state: r.state,
    execution_date: r.logical_date,
    start_date: r.start_date,
    end_date: r.end_date,
    run_type: r.run_type,
    data_interval_start: r.data_interval_start,
    data_interval_end: r.data_interval_end,
  }));
  const columns = ['dag_id', 'run_id', 'state', 'execution_date', 'start_date', 'end_date'];
  // json carries a little more than Airflow's columns: what a script needs to tell runs apart.
  if (ctx.format === 'json') columns.push('run_type', 'data_interval_start', 'data_interval_end');
  printRows(
    ctx.writer,
    ctx.format,
    rows,
    columns.map((key) => ({ key, state: key === 'state' })),
    'No data found',
  );
}

const triggerInput = z.object({
  dagId: dagIdArg,
  execDate: logicalDate.optional(),
  conf: jsonObject.optional(),
  runId: z.string().regex(RUN_ID_PATTERN, "must be 1-250 letters, digits or '_.:+-~'").optional(),
});

export async function triggerDag(ctx: CliContext, args: Array<string | undefined>, opts: Opts): Promise<void> {
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

export async function dagState(ctx: CliContext, args: Array<string | undefined>): Promise<void> {
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
