/**
 * `deferflow triggers list`: what is deferred, on what, for how long, held by whom. The CLI prints
 * these rows; the API/UI may serve them as they are.
 */
import type { Filter } from 'mongodb';
import type { Store } from '../src/store/store.ts';
import type { TriggerDoc } from '../src/store/schema.ts';
import { TriggerOwners } from '../src/store/repositories/trigger-owners.ts';

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
  /** Triggerer job id holding it (the lease holder of its shard); null = not claimed yet. */
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
  /** Heartbeat age after which an owner counts as dead (the triggerer's adoptAfterMs). Default 8 s. */
  adoptAfterMs?: number;
  now?: Date;
}

export async function listTriggers(store: Store, opts: ListTriggersOptions = {}): Promise<TriggerListRow[]> {
  const now = opts.now ?? new Date();
  const leases = await TriggerOwners.load(store);
  const parts: Filter<TriggerDoc>[] = [];
  if (opts.dagId) parts.push({ dag_id: opts.dagId });
  if (opts.owner) parts.push(leases.filterHeldBy(opts.owner));
  const filter: Filter<TriggerDoc> = parts.length === 0 ? {} : parts.length === 1 ? parts[0] : { $and: parts };
  const docs = (
    await store.triggers
      .find(filter)
      .sort({ created_at: 1 })
      .limit(opts.limit ?? 1000)
      .toArray()
  ).map((d) => leases.fill(d));
  const owners = [...new Set(docs.map((d) => d.triggerer_id).filter((o): o is string => o !== null))];
  const jobs = owners.length ? await store.jobs.find({ _id: { $in: owners } }, { projection: { state: 1, latest_heartbeat: 1 } }).toArray() : [];
  const alive = new Map(jobs.map((j) => [j._id, j.state === 'running' && now.getTime() - j.latest_heartbeat.getTime() <= (opts.adoptAfterMs ?? 8_000)]));
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
