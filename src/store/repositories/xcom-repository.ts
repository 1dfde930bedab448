/**
 * XComs: small values tasks hand to each other, one document per (task instance, key), the value a
 * JSON string. `return_value` is the key a task's return value is pushed under.
 */
import type { Store } from '../store.ts';
import { taskInstanceId, xcomId, type XComDoc } from '../schema.ts';
import { fromJsonString, toJsonString } from './json-safe.ts';

export const XCOM_RETURN_KEY = 'return_value';

/** What a try needs loaded: all keys of `taskIds`, and the single (task id, key) `pairs`. */
export interface XComLoadRequest {
  dagId: string;
  runId: string;
  taskIds: readonly string[];
  pairs?: ReadonlyArray<readonly [string, string]>;
}

export interface XComOwner {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index?: number;
}

export class XComRepository {
  constructor(private readonly store: Store) {}

  /** Insert or replace the value under `key`; the value is converted with JSON-safe rules. */
  async push(owner: XComOwner, key: string, value: unknown): Promise<void> {
    const mapIndex = owner.map_index ?? -1;
    const id = xcomId(taskInstanceId(owner.dag_id, owner.run_id, owner.task_id, mapIndex), key);
    const doc: XComDoc = {
      _id: id,
      dag_id: owner.dag_id,
      run_id: owner.run_id,
      task_id: owner.task_id,
      map_index: mapIndex,
      key,
      value: toJsonString(value, `XCom '${key}' of task '${owner.task_id}'`),
      timestamp: new Date(),
    };
    await this.store.xcom.replaceOne({ _id: id }, doc, { upsert: true });
  }

  /** The parsed value, or undefined when no such XCom exists. */
  async pull(dagId: string, runId: string, taskId: string, key = XCOM_RETURN_KEY, mapIndex = -1): Promise<unknown> {
    const doc = await this.store.xcom.findOne({ _id: xcomId(taskInstanceId(dagId, runId, taskId, mapIndex), key) });
    return doc ? fromJsonString(doc.value) : undefined;
  }

  /**
   * The XComs of some tasks of some runs — every key of each named task (`taskIds`) and single
   * (task, key) pairs (`pairs`) — in one query for many requests (a worker loads what several
   * starting tries pull at once). Not mapped task instances.
   */
  async findForTasks(requests: ReadonlyArray<XComLoadRequest>): Promise<XComDoc[]> {
    const or: Array<Record<string, unknown>> = [];
    const ids: string[] = [];
    for (const r of requests) {
      if (r.taskIds.length) or.push({ dag_id: r.dagId, run_id: r.runId, task_id: { $in: [...r.taskIds] }, map_index: -1 });
      for (const [taskId, key] of r.pairs ?? []) ids.push(xcomId(taskInstanceId(r.dagId, r.runId, taskId), key));
    }
    if (ids.length) or.push({ _id: { $in: ids } });
    if (or.length === 0) return [];
    return this.store.xcom.find(or.length === 1 ? or[0]! : { $or: or }).toArray();
  }

  /** Every XCom of a run. */
  listForRun(dagId: string, runId: string): Promise<XComDoc[]> {
    return this.store.xcom.find({ dag_id: dagId, run_id: runId }).toArray();
  }

  /** Drop a task instance's XComs (a fresh try starts clean, as in Airflow). */
  async deleteForTaskInstance(owner: XComOwner): Promise<number> {
    const r = await this.store.xcom.deleteMany({ dag_id: owner.dag_id, run_id: owner.run_id, task_id: owner.task_id, map_index: owner.map_index ?? -1 });
    return r.deletedCount;
  }

  async deleteForRun(dagId: string, runId: string): Promise<number> {
    const r = await this.store.xcom.deleteMany({ dag_id: dagId, run_id: runId });
    return r.deletedCount;
  }
}

/** Index a run's XComs by task id and key, values parsed. */
export function indexXComs(docs: ReadonlyArray<XComDoc>): Map<string, Map<string, unknown>> {
  const byTask = new Map<string, Map<string, unknown>>();
  for (const d of docs) {
    if (d.map_index !== -1) continue;
    let m = byTask.get(d.task_id);
    if (!m) byTask.set(d.task_id, (m = new Map()));
    m.set(d.key, fromJsonString(d.value));
  }
  return byTask;
}
