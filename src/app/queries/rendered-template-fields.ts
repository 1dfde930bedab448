/**
 * A task's template fields rendered for a run, without running anything and without writing —
 * `deferflow tasks render` (Airflow's `tasks render`): the way to check a templated SageMaker
 * config before a worker submits it.
 *
 * The context is the one a worker renders with (src/worker/task-runner.ts): the run's logical
 * date and data interval, `params` = DAG params overlaid with the run's conf, `var.value` /
 * `var.json` from the stored variables, `conn` from the stored connections (and DEFERFLOW_CONN_*),
 * `ti.xcom_pull` from the XComs the run's tasks have pushed so far. Rendering happens on a per-try
 * copy of the operator, as in the worker, so the live DAG is left as it was. For a logical date
 * with no run yet, the run is the one `dags trigger` would create for that date (manual run id,
 * the schedule's manual data interval, empty conf, no XComs).
 */
import type { DAG } from '../../dag/dag.ts';
import { connectionLookup } from '../../connections/connection-lookup.ts';
import { manualDataInterval } from '../../dag/timetable.ts';
import type { DagRunDoc, TaskInstanceDoc } from '../../store/schema.ts';
import { VariableRepository } from '../../store/repositories/variable-repository.ts';
import { indexXComs, XComRepository } from '../../store/repositories/xcom-repository.ts';
import { buildTemplateContext, renderTemplateFields } from '../../templating/index.ts';
import type { AppContext } from '../app-context.ts';
import { defaultRunId } from '../use-cases/trigger-dag-run.ts';
import { parseJsonObject } from '../../util/json-object.ts';

export interface RenderTarget {
  /** An existing run of the DAG; its conf, data interval and XComs are used. */
  run?: DagRunDoc | null;
  /** Otherwise: the logical date of the run `dags trigger` would create. */
  logicalDate?: Date;
  /** The task instance in `run`, when there is one (its try number). */
  taskInstance?: TaskInstanceDoc | null;
}

export interface RenderedTemplateFields {
  dagId: string;
  taskId: string;
  runId: string;
  /** False when rendered for a run that does not exist (yet). */
  runExists: boolean;
  logicalDate: Date;
  tryNumber: number;
  /** Every template field the operator declares that it has, in declaration order, rendered. */
  fields: Array<{ name: string; value: unknown }>;
}

export async function renderTaskTemplateFields(app: AppContext, dag: DAG, taskId: string, target: RenderTarget): Promise<RenderedTemplateFields> {
  const task = dag.getTask(taskId);
  const run = target.run ?? null;
  const logicalDate = run?.logical_date ?? target.logicalDate;
  if (!logicalDate) throw new Error('renderTaskTemplateFields: give a run or a logical date');
  const interval = run ? { start: run.data_interval_start, end: run.data_interval_end } : manualDataInterval(dag.schedule, logicalDate);
  const runId = run?.run_id ?? defaultRunId(logicalDate);
  const conf = run ? parseJsonObject(run.conf) : {};
  const [xcomDocs, variables, connections] = await Promise.all([
    run ? new XComRepository(app.store).listForRun(dag.dagId, run.run_id) : Promise.resolve([]),
    new VariableRepository(app.store).all(),
    connectionLookup(app.store),
  ]);
  const xcoms = indexXComs(xcomDocs);
  // A task instance that has not started yet renders as its first try would.
  const tryNumber = Math.max(1, target.taskInstance?.try_number ?? 1);
  const context = buildTemplateContext({
    dagId: dag.dagId,
    taskId,
    runId,
    runType: run?.run_type ?? 'manual',
    logicalDate,
    dataIntervalStart: interval.start,
    dataIntervalEnd: interval.end,
    params: { ...dag.params, ...conf },
    conf,
    tryNumber,
    mapIndex: target.taskInstance?.map_index ?? -1,
    getVariable: (k) => variables[k],
    getConnection: (id) => connections.get(id),
    getXCom: (t, key) => xcoms.get(t)?.get(key),
  });
  const op = task.copyForTry();
  const target_ = op as unknown as Record<string, unknown>;
  const fields: RenderedTemplateFields['fields'] = [];
  for (const name of op.resolvedTemplateFields) {
    if (!(name in target_)) continue;
    fields.push({ name, value: renderTemplateFields(target_[name], context, { taskId, fieldPath: name }) });
  }
  return { dagId: dag.dagId, taskId, runId, runExists: run !== null, logicalDate, tryNumber, fields };
}
