/** Reads of XCom entries for the API. */
import type { Store } from '../../store/store.ts';
import type { XComDoc } from '../../store/schema.ts';
import { readPage, type Page, type PageRequest } from './page.ts';

export function listXComs(store: Store, ti: { dagId: string; runId: string; taskId: string; mapIndex?: number }, page: PageRequest): Promise<Page<XComDoc>> {
  const filter = { dag_id: ti.dagId, run_id: ti.runId, task_id: ti.taskId, ...(ti.mapIndex !== undefined ? { map_index: ti.mapIndex } : {}) };
  return readPage(store.xcom, filter, page);
}

export function getXCom(store: Store, ti: { dagId: string; runId: string; taskId: string; mapIndex: number }, key: string): Promise<XComDoc | null> {
  return store.xcom.findOne({ dag_id: ti.dagId, run_id: ti.runId, task_id: ti.taskId, key, map_index: ti.mapIndex });
}
