/** Reads of DAG metadata (the `dags` collection) for the API, UI and CLI. */
import type { Filter } from 'mongodb';
import type { Store } from '../../store/store.ts';
import type { DagDoc } from '../../store/schema.ts';
import { readPage, type Page, type PageRequest } from './page.ts';

export interface DagCriteria {
  activeOnly?: boolean;
  paused?: boolean;
  /** Any of these tags. */
  tags?: string[];
  /** Substring of the DAG id, case-insensitive (taken literally, not as a pattern). */
  idContains?: string;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function listDags(store: Store, c: DagCriteria, page: PageRequest): Promise<Page<DagDoc>> {
  return readPage(store.dags, dagFilter(c), page);
}

/** The DAGs a bulk change selects (PATCH /dags), one page of them. */
export const selectDags = listDags;

function dagFilter(c: DagCriteria): Filter<DagDoc> {
  const filter: Filter<DagDoc> = {};
  if (c.activeOnly) filter.is_active = true;
  if (c.paused !== undefined) filter.is_paused = c.paused;
  if (c.tags?.length) filter.tags = { $in: c.tags };
  if (c.idContains) filter.dag_id = { $regex: escapeRegex(c.idContains), $options: 'i' };
  return filter;
}

/** Which of these DAGs' files have an import error right now (Airflow's has_import_errors). */
export async function dagIdsWithImportErrors(store: Store, dags: ReadonlyArray<Pick<DagDoc, 'dag_id' | 'fileloc'>>): Promise<Set<string>> {
  if (!dags.length) return new Set();
  const files = [...new Set(dags.map((d) => d.fileloc))];
  const broken = new Set((await store.importErrors.find({ _id: { $in: files } }, { projection: { _id: 1 } }).toArray()).map((e) => e._id));
  return new Set(dags.filter((d) => broken.has(d.fileloc)).map((d) => d.dag_id));
}

/** Runs per state for each DAG (Airflow's /dagStats). */
export async function dagRunStats(store: Store, dagIds: string[]): Promise<Map<string, Map<string, number>>> {
  const rows = await store.dagRuns
    .aggregate<{ _id: { dag_id: string; state: string }; n: number }>([
      { $match: { dag_id: { $in: dagIds } } },
      { $group: { _id: { dag_id: '$dag_id', state: '$state' }, n: { $sum: 1 } } },
    ])
    .toArray();
  const out = new Map<string, Map<string, number>>(dagIds.map((id) => [id, new Map()]));
  for (const r of rows) out.get(r._id.dag_id)?.set(r._id.state, r.n);
  return out;
}

export function getDag(store: Store, dagId: string): Promise<DagDoc | null> {
  return store.dags.findOne({ _id: dagId });
}

/** Whether some stored DAG comes from this file. */
export async function dagFilelocKnown(store: Store, fileloc: string): Promise<boolean> {
  return (await store.dags.countDocuments({ fileloc }, { limit: 1 })) > 0;
}
