/** Reads of DAG runs for the API, UI and CLI. */
import type { Filter } from 'mongodb';
import type { Store } from '../../store/store.ts';
import { dagRunId, type DagRunDoc, type DagRunState, type RunType, type TaskInstanceDoc } from '../../store/schema.ts';
import { rangeCondition, readPage, type DateRange, type Page, type PageRequest, type SortOrder } from './page.ts';

export interface DagRunCriteria {
  /** Omitted: runs of every DAG. */
  dagId?: string;
  /** Runs of any of these DAGs. */
  dagIds?: string[];
  states?: string[];
  logicalDate?: DateRange;
  startDate?: DateRange;
  endDate?: DateRange;
  updatedAt?: DateRange;
  /** Leave out runs of these types (`dags list-runs --no-backfill`). */
  excludeRunTypes?: RunType[];
}

function dagRunFilter(c: DagRunCriteria): Filter<DagRunDoc> {
  const filter: Filter<DagRunDoc> = {};
  if (c.dagId !== undefined) filter.dag_id = c.dagId;
  else if (c.dagIds?.length) filter.dag_id = { $in: c.dagIds };
  if (c.states?.length) filter.state = { $in: c.states as DagRunState[] };
  if (c.excludeRunTypes?.length) filter.run_type = { $nin: c.excludeRunTypes };
  const ranges = { logical_date: c.logicalDate, start_date: c.startDate, end_date: c.endDate, updated_at: c.updatedAt } as const;
  for (const [field, r] of Object.entries(ranges)) {
    const cond = rangeCondition(r);
    if (cond) (filter as Record<string, unknown>)[field] = cond;
  }
  return filter;
}

export function listDagRuns(store: Store, c: DagRunCriteria, page: PageRequest): Promise<Page<DagRunDoc>> {
  return readPage(store.dagRuns, dagRunFilter(c), page);
}

/** Every matching run in `sort` order (the CLI lists them all, as Airflow's does). */
export function findDagRuns(store: Store, c: DagRunCriteria, sort: SortOrder): Promise<DagRunDoc[]> {
  return store.dagRuns.find(dagRunFilter(c)).sort(sort).toArray();
}

export function getDagRun(store: Store, dagId: string, runId: string): Promise<DagRunDoc | null> {
  return store.dagRuns.findOne({ _id: dagRunId(dagId, runId) });
}

/** A run by its run id, else (when given) by its logical date — the CLI accepts either. */
export async function findDagRun(store: Store, dagId: string, runId: string, logicalDate?: Date): Promise<DagRunDoc | null> {
  const byId = await store.dagRuns.findOne({ dag_id: dagId, run_id: runId });
  if (byId || !logicalDate) return byId;
  return store.dagRuns.findOne({ dag_id: dagId, logical_date: logicalDate });
}

/** Run ids of a DAG at or before (`past`) and/or at or after (`future`) a logical date. */
export async function runIdsAround(store: Store, dagId: string, logicalDate: Date, past: boolean, future: boolean): Promise<string[]> {
  const cond = past && future ? {} : past ? { logical_date: { $lte: logicalDate } } : { logical_date: { $gte: logicalDate } };
  const runs = await store.dagRuns.find({ dag_id: dagId, ...cond }, { projection: { run_id: 1 } }).toArray();
  return runs.map((r) => r.run_id);
}

/** A run with all its task instances (a follow view's starting point), or null when no such run. */
export async function runWithTaskInstances(store: Store, dagId: string, runId: string): Promise<{ run: DagRunDoc; tis: TaskInstanceDoc[] } | null> {
  const run = await store.dagRuns.findOne({ dag_id: dagId, run_id: runId });
  if (!run) return null;
  const tis = await store.taskInstances.find({ dag_id: dagId, run_id: runId }).toArray();
  return { run, tis };
}
