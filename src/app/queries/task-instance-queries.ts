/**
 * Reads of task instances for the API, UI and CLI, including the trigger a deferred instance waits
 * on and the triggerer holding it (Airflow's TaskInstance resource carries both), fetched in two
 * batched queries instead of one per row.
 */
import type { Filter } from 'mongodb';
import type { Store } from '../../store/store.ts';
import { taskInstanceId, type JobDoc, type TaskInstanceDoc, type TaskInstanceState, type TriggerDoc } from '../../store/schema.ts';
import { withOwners } from '../../store/repositories/trigger-owners.ts';
import { rangeCondition, readPage, type DateRange, type Page, type PageRequest } from './page.ts';

export interface TaskInstanceCriteria {
  dagId?: string;
  dagIds?: string[];
  runId?: string;
  runIds?: string[];
  taskIds?: string[];
  states?: TaskInstanceState[];
  /** Every state except these. */
  notStates?: TaskInstanceState[];
  queues?: string[];
  logicalDate?: DateRange;
  startDate?: DateRange;
  updatedAt?: DateRange;
  endDate?: DateRange;
  /** Seconds. */
  duration?: { gte?: number; lte?: number };
}

export function taskInstanceFilter(c: TaskInstanceCriteria): Filter<TaskInstanceDoc> {
  const filter: Filter<TaskInstanceDoc> = {};
  if (c.dagId !== undefined) filter.dag_id = c.dagId;
  else if (c.dagIds?.length) filter.dag_id = { $in: c.dagIds };
  if (c.runId !== undefined) filter.run_id = c.runId;
  else if (c.runIds) filter.run_id = { $in: c.runIds };
  if (c.taskIds) filter.task_id = { $in: c.taskIds };
  if (c.states) filter.state = c.states.length === 1 ? c.states[0] : { $in: c.states };
  else if (c.notStates) filter.state = c.notStates.length === 1 ? { $ne: c.notStates[0] } : { $nin: c.notStates };
  if (c.queues?.length) filter.queue = { $in: c.queues };
  const ranges = { logical_date: c.logicalDate, start_date: c.startDate, updated_at: c.updatedAt, end_date: c.endDate } as const;
  for (const [field, r] of Object.entries(ranges)) {
    const cond = rangeCondition(r);
    if (cond) (filter as Record<string, unknown>)[field] = cond;
  }
  if (c.duration && (c.duration.gte !== undefined || c.duration.lte !== undefined)) {
    filter.duration = { ...(c.duration.gte !== undefined ? { $gte: c.duration.gte } : {}), ...(c.duration.lte !== undefined ? { $lte: c.duration.lte } : {}) };
  }
  return filter;
}

export function listTaskInstances(store: Store, c: TaskInstanceCriteria, page: PageRequest): Promise<Page<TaskInstanceDoc>> {
  return readPage(store.taskInstances, taskInstanceFilter(c), page);
}

/** Every matching task instance, in `sort` order (selections of clear / mark, a run's rows). */
export function findTaskInstances(store: Store, c: TaskInstanceCriteria, sort: Record<string, 1 | -1> = {}): Promise<TaskInstanceDoc[]> {
  return store.taskInstances.find(taskInstanceFilter(c)).sort(sort).toArray();
}

export function getTaskInstance(store: Store, dagId: string, runId: string, taskId: string, mapIndex = -1): Promise<TaskInstanceDoc | null> {
  return getTaskInstanceById(store, taskInstanceId(dagId, runId, taskId, mapIndex));
}

export function getTaskInstanceById(store: Store, tiId: string): Promise<TaskInstanceDoc | null> {
  return store.taskInstances.findOne({ _id: tiId });
}

export interface TaskInstanceWithTrigger {
  ti: TaskInstanceDoc;
  trigger: TriggerDoc | null;
  /** The triggerer job holding the trigger, if claimed. */
  triggerer: JobDoc | null;
}

export async function withTriggers(store: Store, tis: TaskInstanceDoc[]): Promise<TaskInstanceWithTrigger[]> {
  const triggerIds = [...new Set(tis.map((t) => t.trigger_id).filter((x): x is string => Boolean(x)))];
  const triggers: TriggerDoc[] = await withOwners(store, triggerIds.length ? await store.triggers.find({ _id: { $in: triggerIds } }).toArray() : []);
  const byId = new Map(triggers.map((t) => [t._id, t]));
  const jobIds = [...new Set(triggers.map((t) => t.triggerer_id).filter((x): x is string => Boolean(x)))];
  const jobs: JobDoc[] = jobIds.length ? await store.jobs.find({ _id: { $in: jobIds } }).toArray() : [];
  const jobsById = new Map(jobs.map((j) => [j._id, j]));
  return tis.map((ti) => {
    const trigger = ti.trigger_id ? (byId.get(ti.trigger_id) ?? null) : null;
    return { ti, trigger, triggerer: trigger?.triggerer_id ? (jobsById.get(trigger.triggerer_id) ?? null) : null };
  });
}
