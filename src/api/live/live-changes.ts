/**
 * The webserver's live feed of state changes (for SSE and the UI). Two sources, merged:
 *  - the in-process StateChangeBus (standalone / embedded: changes arrive the instant they happen);
 *  - a poller on `updated_at` of task_instances and dag_runs (changes made by other processes).
 * Both may report the same write, so changes are deduplicated by (id, version) for task instances
 * and (id, updated_at, state) for runs, and a task instance is only forwarded if its version is
 * newer than the last one sent (late poll results never roll a colour back).
 *
 * The poller re-reads a small window before its cursor because `updated_at` is stamped by other
 * machines' clocks: a write stamped slightly in the past would otherwise be missed forever.
 */
import { EMPTY, defer, from, merge, timer, type Observable } from 'rxjs';
import { catchError, exhaustMap, filter, map, mergeMap, share } from 'rxjs/operators';
import type { Logger } from 'pino';
import type { Collection, Filter } from 'mongodb';
import type { Store } from '../../store/store.ts';
import type { StateChange, StateChangeBus } from '../../store/state-change-bus.ts';
import type { DagRunDoc, TaskInstanceDoc } from '../../store/schema.ts';
import { apiDagRun, apiTaskInstance, type ApiDagRun, type ApiTaskInstance } from '../serializers.ts';

export type LiveChange =
  | { kind: 'task_instance'; previous_state?: string | null; ti: ApiTaskInstance }
  | { kind: 'dag_run'; previous_state?: string | null; run: ApiDagRun }
  | { kind: 'trigger'; action: string; trigger_id: string; task_instance_id?: string };

export interface LiveChangesOptions {
  pollMs?: number;
  /** How far before the cursor each poll looks again (clock skew between machines). */
  overlapMs?: number;
  logger?: Logger;
}

export class LiveChanges {
  readonly changes$: Observable<LiveChange>;
  private readonly pollMs: number;
  private readonly overlapMs: number;
  private cursor = new Date(0);
  private readonly tiVersions = new Map<string, { version: number; at: number }>();
  private readonly runStamps = new Map<string, { stamp: string; at: number }>();

  constructor(
    private readonly store: Store,
    bus: StateChangeBus | undefined,
    private readonly opts: LiveChangesOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 1000;
    this.overlapMs = opts.overlapMs ?? 2000;
    const bus$: Observable<LiveChange> = bus ? bus.changes$.pipe(map((c) => fromBus(c))) : EMPTY;
    const poll$ = defer(() => {
      this.cursor = new Date(Date.now() - this.overlapMs);
      return timer(this.pollMs, this.pollMs);
    }).pipe(
      exhaustMap(() =>
        from(this.pollOnce()).pipe(
          catchError((err: unknown) => {
            this.opts.logger?.warn({ err }, 'live change poll failed; retrying');
            return from([[] as LiveChange[]]);
          }),
        ),
      ),
      mergeMap((changes) => from(changes)),
    );
    this.changes$ = merge(bus$, poll$).pipe(
      filter((c) => this.isNew(c)),
      share(),
    );
  }

  /** One poll: every TI and run written since the cursor (minus the overlap window). */
  async pollOnce(): Promise<LiveChange[]> {
    const since = new Date(this.cursor.getTime() - this.overlapMs);
    const [tis, runs] = await Promise.all([pageSince(this.store.taskInstances, since, 1000, 20), pageSince(this.store.dagRuns, since, 500, 4)]);
    let max = this.cursor.getTime();
    for (const d of [...tis, ...runs]) max = Math.max(max, d.updated_at.getTime());
    this.cursor = new Date(max);
    this.prune(since.getTime() - this.overlapMs);
    return [
      ...runs.map((run): LiveChange => ({ kind: 'dag_run', run: apiDagRun(run) })),
      ...tis.map((ti): LiveChange => ({ kind: 'task_instance', ti: apiTaskInstance(ti) })),
    ];
  }

  private isNew(c: LiveChange): boolean {
    if (c.kind === 'task_instance') {
      const id = tiKey(c.ti.dag_id, c.ti.dag_run_id, c.ti.task_id, c.ti.map_index);
      const seen = this.tiVersions.get(id);
      if (seen && seen.version >= c.ti.version) return false;
      this.tiVersions.set(id, { version: c.ti.version, at: Date.parse(c.ti.updated_at ?? '') || Date.now() });
      return true;
    }
    if (c.kind === 'dag_run') {
      const id = `${c.run.dag_id}|${c.run.dag_run_id}`;
      const at = Date.parse(c.run.updated_at ?? '') || Date.now();
      const stamp = `${at}|${c.run.state}|${c.run.clear_number}`;
      const seen = this.runStamps.get(id);
      if (seen && (seen.stamp === stamp || seen.at > at)) return false;
      this.runStamps.set(id, { stamp, at });
      return true;
    }
    return true;
  }

  /** Forget dedupe entries written before anything a poll can still return. */
  private prune(limit: number): void {
    for (const [k, v] of this.tiVersions) if (v.at < limit) this.tiVersions.delete(k);
    for (const [k, v] of this.runStamps) if (v.at < limit) this.runStamps.delete(k);
  }
}

/**
 * Everything with updated_at >= since, paged by (updated_at, _id) so a burst larger than one page
 * is read to its end instead of re-reading the same first page on every poll.
 */
export async function pageSince<T extends { _id: string; updated_at: Date }>(
  col: Collection<T>,
  since: Date,
  pageSize: number,
  maxPages: number,
): Promise<T[]> {
  const out: T[] = [];
  let filter: Filter<T> = { updated_at: { $gte: since } } as Filter<T>;
  for (let page = 0; page < maxPages; page++) {
    const batch = (await col.find(filter).sort({ updated_at: 1, _id: 1 }).limit(pageSize).toArray()) as T[];
    out.push(...batch);
    if (batch.length < pageSize) break;
    const last = batch[batch.length - 1]!;
    filter = { $or: [{ updated_at: { $gt: last.updated_at } }, { updated_at: last.updated_at, _id: { $gt: last._id } }] } as Filter<T>;
  }
  return out;
}

function tiKey(dagId: string, runId: string, taskId: string, mapIndex: number): string {
  return `${dagId}|${runId}|${taskId}|${mapIndex}`;
}

function fromBus(c: StateChange): LiveChange {
  if (c.kind === 'task_instance') return { kind: 'task_instance', previous_state: c.previous ?? undefined, ti: apiTaskInstance(c.ti as TaskInstanceDoc) };
  if (c.kind === 'dag_run') return { kind: 'dag_run', previous_state: c.previous ?? undefined, run: apiDagRun(c.run as DagRunDoc) };
  return { kind: 'trigger', action: c.action, trigger_id: c.trigger_id, task_instance_id: c.task_instance_id };
}
