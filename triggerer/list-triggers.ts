/**
 * `deferflow triggers list`: what is deferred, on what, for how long, held by whom. The CLI prints
 * these rows; the API/UI may serve them as they are.
 */
import type { Filter } from 'mongodb';
import type { Store } from '../src/store/store.ts';
import type { TriggerDoc } from '../src/store/schema.ts';

export interface TriggerListRow {
  trigger_id: string;
  kind: string;
  dag_id: string;
  run_id: string;
  task_id: string;
  task_instance_id: string;
  /** What it waits on (job name, moment, pattern). */
  waits_on: string | null;
  created_at: Date;
  age_ms: number;
  /** Triggerer job id holding it; null = not claimed yet. */
  owner: string | null;
  /** Whether the owner heartbeats within `adoptAfterMs` (null when unowned). */
  owner_alive: boolean | null;
  deadline: Date | null;
}

export interface ListTriggersOptions {
  dagId?: string;
  /** Only triggers held by this triggerer. */
  owner?: string;
  limit?: number;
  /** Heartbeat age after which an owner counts as dead (the triggerer's adoptAfterMs). Default 10 s. */
  adoptAfterMs?: number;
  now?: Date;
}

export async function listTriggers(store: Store, opts: ListTriggersOptions = {}): Promise<TriggerListRow[]> {
  const now = opts.now ?? new Date();
  const filter: Filter<TriggerDoc> = {};
  if (opts.dagId) filter.dag_id = opts.dagId;
  if (opts.owner) filter.triggerer_id = opts.owner;
  const docs = await store.triggers
    .find(filter)
    .sort({ created_at: 1 })
    .limit(opts.limit ?? 1000)
    .toArray();
  const owners = [...new Set(docs.map((d) => d.triggerer_id).filter((o): o is string => o !== null))];
  const jobs = owners.length ? await store.jobs.find({ _id: { $in: owners } }, { projection: { state: 1, latest_heartbeat: 1 } }).toArray() : [];
  const alive = new Map(jobs.map((j) => [j._id, j.state === 'running' && now.getTime() - j.latest_heartbeat.getTime() <= (opts.adoptAfterMs ?? 10_000)]));
  return docs.map((d) => ({
    trigger_id: d._id,
    kind: d.kind,
    dag_id: d.dag_id,
    run_id: d.run_id,
    task_id: d.task_id,
    task_instance_id: d.task_instance_id,
    waits_on: d.description,
    created_at: d.created_at,
    age_ms: Math.max(0, now.getTime() - d.created_at.getTime()),
    owner: d.triggerer_id,
    owner_alive: d.triggerer_id === null ? null : (alive.get(d.triggerer_id) ?? false),
    deadline: d.deadline,
  }));
}
