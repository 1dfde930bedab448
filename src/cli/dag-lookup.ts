/**
 * Shared look-ups for the `dags` and `tasks` commands: the DAG folder as a DagBag (Airflow's CLI
 * parses the folder too — here in child processes, and without recording anything: only the DAG
 * processor writes DAGs and import errors), a DAG that must exist, and a DAG run named by run id
 * *or* logical date (Airflow accepts both: `tasks states-for-dag-run my_dag 2025-04-09`).
 */
import { relative } from 'node:path';
import { DagBag } from '../dag-processing/dag-bag.ts';
import type { DagDefinition } from '../dag-processing/dag-definition.ts';
import { SerializedDag, type SerializedDagData } from '../dag-processing/serialized-dag.ts';
import { DagVersionRepository } from '../store/repositories/dag-version-repository.ts';
import type { DAG } from '../dag/dag.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import type { DagRunDoc } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { findDagRun as findRunByIdOrDate } from '../app/queries/dag-run-queries.ts';
import { createLogger } from '../log/logger.ts';
import type { CliContext } from './context.ts';
import { z } from 'zod';
import { getTaskInstance } from '../app/queries/task-instance-queries.ts';
import type { TaskInstanceDoc } from '../store/schema.ts';
import { logicalDate } from './validation.ts';

const bags = new WeakMap<CliContext, Promise<DagBag>>();

/** The DAGs folder parsed once per command. */
export function loadDagBag(ctx: CliContext): Promise<DagBag> {
  let p = bags.get(ctx);
  if (!p) {
    // DAG import problems are reported by the commands themselves; keep the logger for real failures.
    p = DagBag.load(ctx.settings.dagsFolder, {
      logger: createLogger({ level: 'error', format: ctx.settings.logFormat, destination: process.stderr }),
      importTimeoutMs: ctx.settings.dagProcessing.importTimeoutMs,
    });
    bags.set(ctx, p);
  }
  return p;
}

export async function requireDag(ctx: CliContext, dagId: string): Promise<DagDefinition> {
  const bag = await loadDagBag(ctx);
  const dag = bag.getDag(dagId);
  if (dag) return dag;
  // Each file with the first line of its error: "not found" alone would send the user hunting.
  const broken = bag.importErrors.map((e) => `${relative(ctx.settings.dagsFolder, e.file) || e.file}: ${firstLine(e.message)}`);
  throw new NotFoundError(
    'DAG_NOT_FOUND',
    `DAG '${dagId}' not found in ${ctx.settings.dagsFolder}${broken.length ? ` (files that failed to import: ${broken.join('; ')})` : ''}`,
    broken.length
      ? 'Fix the import errors shown by `deferflow dags list-import-errors`, or check the DAG id.'
      : 'Check the DAG id with `deferflow dags list`, or point DEFERFLOW_DAGS_FOLDER at the folder holding it.',
  );
}

/**
 * The DAG as the DAG processor recorded it (what schedulers run), else as this command parses it
 * from the folder — Airflow's `dags trigger` reads the database too. Saves a parse per trigger.
 */
export async function requireRecordedDag(ctx: CliContext, store: Store, dagId: string): Promise<DagDefinition> {
  const doc = await store.dags.findOne({ _id: dagId, is_active: true }, { projection: { version: 1 } });
  const version = doc?.version;
  if (version) {
    const [row] = await new DagVersionRepository(store).getMany([{ dagId, version }]);
    if (row) return new SerializedDag(JSON.parse(row.serialized) as SerializedDagData, { version });
  }
  return requireDag(ctx, dagId);
}

/**
 * The live DAG for commands that run its tasks here (`dags test`, `tasks test`): imported in this
 * process only after a child process imported the same file content cleanly.
 */
export async function requireLiveDag(ctx: CliContext, dagId: string): Promise<DAG> {
  await requireDag(ctx, dagId);
  return (await loadDagBag(ctx)).loadDag(dagId);
}

/** A run by run id, else by logical date (when the text is a date). */
export function findDagRun(store: Store, dagId: string, runIdOrDate: string): Promise<DagRunDoc | null> {
  const date = logicalDate.safeParse(runIdOrDate);
  return findRunByIdOrDate(store, dagId, runIdOrDate, date.success ? date.data : undefined);
}

export async function requireDagRun(store: Store, dagId: string, runIdOrDate: string): Promise<DagRunDoc> {
  const run = await findDagRun(store, dagId, runIdOrDate);
  if (!run) {
    throw new NotFoundError(
      'DAG_RUN_NOT_FOUND',
      `DagRun for ${dagId} with run_id or logical date of '${runIdOrDate}' not found`,
      'Give a run id (e.g. manual__2025-04-09T00:00:00+00:00) or a logical date (2025-04-09) of an existing run; trigger one with `deferflow dags trigger`.',
    );
  }
  return run;
}

/** A run named on the command line: its run id or its logical date. */
export const runRef = z.string({ error: 'is required' }).min(1, 'is required');

/** A task instance of the run named by run id or logical date (the run must exist; the task instance may not). */
export async function findTaskInstance(store: Store, dagId: string, run: string, taskId: string): Promise<{ ti: TaskInstanceDoc | null; run: DagRunDoc }> {
  const dagRun = await requireDagRun(store, dagId, run);
  const ti = await getTaskInstance(store, dagId, dagRun.run_id, taskId);
  return { ti, run: dagRun };
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
