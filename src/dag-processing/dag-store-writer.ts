/**
 * Serialized DAGs → the `dags` rows the scheduler, API and UI read, plus their `dag_versions`.
 * Used by the DAG processor (per parsed file) and by DagBag.syncToStore (DAGs built in code).
 */
import type { DagParsedFields } from '../store/repositories/dag-repository.ts';
import { DagRepository } from '../store/repositories/dag-repository.ts';
import { DagVersionRepository } from '../store/repositories/dag-version-repository.ts';
import type { DagTaskSummary } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { SerializedDagData } from './serialized-dag.ts';

export interface VersionedDag {
  data: SerializedDagData;
  version: string;
}

export function dagDocFields(
  { data, version }: VersionedDag,
  opts: { processorSubdir: string | null; now: Date },
): DagParsedFields & { is_paused_upon_creation: boolean } {
  const tasks: DagTaskSummary[] = data.tasks.map((t) => ({
    task_id: t.task_id,
    operator: t.operator,
    downstream_task_ids: t.downstream_task_ids,
    upstream_task_ids: t.upstream_task_ids,
    trigger_rule: t.trigger_rule,
    retries: t.retries,
    template_fields: t.template_fields,
    location: t.location,
  }));
  return {
    _id: data.dag_id,
    dag_id: data.dag_id,
    fileloc: data.fileloc,
    description: data.description,
    schedule: data.schedule,
    start_date: data.start_date ? new Date(data.start_date) : null,
    end_date: data.end_date ? new Date(data.end_date) : null,
    catchup: data.catchup,
    tags: data.tags,
    owners: [...new Set(data.tasks.map((t) => t.owner))].sort(),
    params: data.params,
    max_active_runs: data.max_active_runs,
    max_active_tasks: data.max_active_tasks,
    is_active: true,
    tasks,
    last_parsed_time: opts.now,
    version,
    processor_subdir: opts.processorSubdir,
    relative_fileloc: data.relative_fileloc,
    is_paused_upon_creation: data.is_paused_upon_creation,
  };
}

/** Upsert the DAGs' rows (keeping is_paused and the timetable cursor) and record their versions. */
export async function recordParsedDags(store: Store, dags: ReadonlyArray<VersionedDag>, opts: { processorSubdir: string | null; now?: Date }): Promise<void> {
  if (dags.length === 0) return;
  const now = opts.now ?? new Date();
  // Versions first: a scheduler that sees a row's new version must find it.
  await new DagVersionRepository(store).record(
    dags.map((d) => ({
      dagId: d.data.dag_id,
      version: d.version,
      fileloc: d.data.fileloc,
      sourceHash: d.data.source_hash,
      serialized: JSON.stringify(d.data),
    })),
    now,
  );
  await new DagRepository(store).upsertParsed(dags.map((d) => dagDocFields(d, { processorSubdir: opts.processorSubdir, now })));
}
