/** DAG → its `dags` document fields (what the scheduler, API and UI read without loading the file). */
import type { DAG } from '../dag/dag.ts';
import type { DagParsedFields } from '../store/repositories/dag-repository.ts';
import type { DagTaskSummary } from '../store/schema.ts';

export function dagToParsedFields(dag: DAG, now = new Date()): DagParsedFields & { is_paused_upon_creation: boolean } {
  const tasks: DagTaskSummary[] = dag.topologicalOrder().map((id) => {
    const t = dag.getTask(id);
    return {
      task_id: t.taskId,
      operator: t.operatorName,
      downstream_task_ids: [...t.downstreamTaskIds].sort(),
      upstream_task_ids: [...t.upstreamTaskIds].sort(),
      trigger_rule: t.triggerRule,
      retries: t.retries,
      template_fields: [...t.resolvedTemplateFields],
      location: t.location,
    };
  });
  const owners = [...new Set(dag.taskList.map((t) => String(t.args.owner ?? dag.defaultArgs.owner ?? 'airflow')))].sort();
  return {
    _id: dag.dagId,
    dag_id: dag.dagId,
    fileloc: dag.fileloc ?? dag.definedAt.file ?? '',
    description: dag.description ?? null,
    schedule: dag.schedule,
    start_date: dag.startDate,
    end_date: dag.endDate,
    catchup: dag.catchup,
    tags: [...dag.tags],
    owners,
    params: safeJson(dag.params),
    max_active_runs: dag.maxActiveRuns,
    max_active_tasks: dag.maxActiveTasks,
    is_active: true,
    tasks,
    last_parsed_time: now,
    is_paused_upon_creation: dag.isPausedUponCreation,
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v ?? {});
  } catch {
    return '{}';
  }
}
