/**
 * Trigger a DAG run (manual): the one implementation behind `Runtime.triggerDag`, POST
 * /api/v1/dags/{dag_id}/dagRuns (and the UI's trigger form), `deferflow dags trigger`, `dags test`
 * and `tasks test`.
 *
 * Rules (where the five copies this replaces differed, the most correct one won):
 *   - the run id is `manual__<logical date>` unless given, and a given one must be a valid run id
 *     (1-250 of letters, digits, `_.:+-~`) wherever it comes from — Runtime did not check, and a
 *     `|` would have broken the run's key;
 *   - the data interval follows the DAG's schedule (Airflow 2: a manual run of a cron DAG covers
 *     the last complete interval before its logical date), from the definition held here, else the
 *     stored DAG (a webserver without the DAG files);
 *   - the run's task instances are created with it when the definition is at hand, as Airflow's
 *     create_dagrun does (only `dags trigger` did): a run just triggered shows its tasks at once;
 *     otherwise the scheduler creates them when it starts the run (it always re-checks them);
 *   - conf, note and external_trigger=true are stored as given; a taken run id or logical date is
 *     DAG_RUN_EXISTS;
 *   - it is audited (`trigger`, with the conf's keys, not its values).
 */
import type { DagDefinition } from '../../dag-processing/dag-definition.ts';
import { InvalidInputError } from '../../errors/invalid-input-error.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { manualDataInterval } from '../../dag/timetable.ts';
import { taskSpecsOf } from '../../scheduler/task-specs.ts';
import type { DagDoc, DagRunDoc } from '../../store/schema.ts';
import { isoUtc } from '../../util/time-format.ts';
import type { AppContext } from '../app-context.ts';
import { checkJsonValue } from '../json-limits.ts';
import { audit } from '../audit.ts';
import { getDag } from '../queries/dag-queries.ts';

/** Airflow's run id alphabet; every caller validates the same way. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_.:+\-~]{1,250}$/;
export const RUN_ID_RULE = "1-250 letters, digits or '_.:+-~'";

export interface TriggerDagRunRequest {
  dagId: string;
  /** Default: now. */
  logicalDate?: Date;
  /** Default: manual__<logical date>. */
  runId?: string;
  conf?: Record<string, unknown>;
  note?: string | null;
  /**
   * Only these tasks get task instances (`tasks test` runs one task alone); default every task.
   * Needs the DAG definition.
   */
  onlyTasks?: string[];
  /** The stored DAG, when the caller has read it already (saves a round trip). */
  storedDag?: DagDoc;
}

export function defaultRunId(logicalDate: Date): string {
  return `manual__${isoUtc(logicalDate)}`;
}

export async function triggerDagRun(app: AppContext, req: TriggerDagRunRequest): Promise<DagRunDoc> {
  if (req.runId !== undefined && !RUN_ID_PATTERN.test(req.runId)) {
    throw new InvalidInputError('Invalid run id', [{ path: 'runId', message: `${JSON.stringify(req.runId)}: use ${RUN_ID_RULE}` }]);
  }
  // Any front door (API, CLI --conf, Runtime): a conf too deep to store is refused with its path.
  checkJsonValue(req.conf ?? {}, { what: 'The run conf', root: 'conf' });
  const definition: DagDefinition | undefined = app.dags?.getDag(req.dagId);
  const schedule = definition ? definition.schedule : (req.storedDag ?? (await getDag(app.store, req.dagId)))?.schedule;
  if (schedule === undefined) {
    throw new NotFoundError(
      'DAG_NOT_FOUND',
      `DAG '${req.dagId}' not found`,
      'Check the DAG id (`deferflow dags list`), or make the DAG known to this process.',
    );
  }
  if (req.onlyTasks && !definition) {
    throw new NotFoundError('DAG_NOT_FOUND', `DAG '${req.dagId}' is not loaded here; running only some of its tasks needs its definition`);
  }
  const logicalDate = req.logicalDate ?? new Date();
  const run = await app.runs.create({
    dagId: req.dagId,
    runId: req.runId ?? defaultRunId(logicalDate),
    runType: 'manual',
    logicalDate,
    dataInterval: manualDataInterval(schedule, logicalDate),
    conf: req.conf ?? {},
    externalTrigger: true,
    note: req.note ?? null,
  });
  if (definition) await app.tis.createForRun(run, taskSpecsOf(definition, req.onlyTasks ?? definition.taskIds));
  // conf may hold anything a user typed: the audit keeps its keys only.
  await audit(app, [
    { event: 'trigger', dagId: run.dag_id, runId: run.run_id, logicalDate: run.logical_date, details: { conf_keys: Object.keys(req.conf ?? {}) } },
  ]);
  return run;
}
