/**
 * Which trigger rows a triggerer owns, and keeping that true: its heartbeat (the job row), claiming
 * unowned rows and adopting those of triggerers whose heartbeat stopped, noticing rows it lost,
 * orphans (rows whose task moved on), and releasing everything on a clean stop.
 *
 * Safety: every ownership change is a guarded update naming the owner seen, so a row never gets two
 * owners by claim; a partitioned triggerer that lost a row drops its trigger at its next check, and
 * even if both fire, the resume is guarded (deferred + trigger id) so only one takes effect.
 * Cost at 100k triggers: O(1) queries per claim batch, one count query per heartbeat (ids are read
 * only on a mismatch), one `updated_at` range query per task poll.
 */
import type { Logger } from 'pino';
import type { TriggererMetrics } from '../src/metrics/triggerer-metrics.ts';
import type { TaskInstanceDoc, TriggerDoc } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import type { TriggerTransitions } from '../src/store/transitions/trigger-transitions.ts';
import { isOrphanTrigger } from './outcome.ts';
import { TriggererJob } from './triggerer-job.ts';

/** A row this triggerer now owns, and whether its task still waits on it. */
export interface OwnedRow {
  doc: TriggerDoc;
  orphan: boolean;
}

export type TaskRow = Pick<TaskInstanceDoc, '_id' | 'state' | 'trigger_id'>;

export interface OwnershipOptions {
  store: Store;
  triggers: TriggerTransitions;
  triggererId: string;
  capacity: number;
  adoptAfterMs: number;
  logger: Logger;
  metrics: TriggererMetrics;
}

/** What the triggerer runs, as the ownership check needs it. */
export interface HeldView {
  /** Triggers still waiting (their rows must be ours). */
  waitingCount: number;
  /** Ids whose rows may vanish any moment by our own doing (outcome being stored, orphan being deleted). */
  settlingIds: string[];
  isHeld(id: string): boolean;
}

export class TriggerOwnership {
  private readonly job: TriggererJob;
  private tiCursor: Date | null = null;

  constructor(private readonly o: OwnershipOptions) {
    this.job = new TriggererJob(o.store, o.triggererId, o.capacity);
  }

  register(): Promise<void> {
    return this.job.register();
  }

  /** Heartbeat with the current load; re-registers when the job row vanished (someone cleaned it up). */
  async heartbeat(load: number): Promise<void> {
    if (!(await this.job.heartbeat(load))) await this.job.register();
  }

  /** Clean stop: release every row for adoption, end the job row. */
  async releaseAll(): Promise<number> {
    const released = await this.o.triggers.releaseAll(this.o.triggererId);
    await this.job.end('success');
    return released;
  }

  /**
   * One claim batch of up to `limit` rows that are unowned or owned by a dead triggerer. Returns how
   * many candidates it saw (a full batch means: look again) and the rows won that are not held yet.
   */
  async claim(limit: number, isHeld: (id: string) => boolean): Promise<{ seen: number; won: OwnedRow[] }> {
    const now = new Date();
    const alive = await this.job.aliveIds(this.o.adoptAfterMs, now);
    const candidates = await this.o.store.triggers.find({ triggerer_id: { $nin: alive } }, { limit }).toArray();
    if (candidates.length === 0) return { seen: 0, won: [] };
    const byOwner = new Map<string | null, string[]>();
    for (const c of candidates) {
      const list = byOwner.get(c.triggerer_id) ?? [];
      list.push(c._id);
      byOwner.set(c.triggerer_id, list);
    }
    const won = new Set<string>();
    for (const [owner, ids] of byOwner) {
      const mine = await this.o.triggers.claim(ids, owner, this.o.triggererId, now);
      for (const id of mine) won.add(id);
      if (mine.length === 0) continue;
      if (owner !== null) {
        this.o.logger.warn({ from: owner, count: mine.length }, 'Adopted triggers of a triggerer whose heartbeat stopped');
        this.o.metrics.triggersClaimed.inc({ triggerer_id: this.o.triggererId, how: 'adopted' }, mine.length);
      } else {
        this.o.metrics.triggersClaimed.inc({ triggerer_id: this.o.triggererId, how: 'unowned' }, mine.length);
      }
    }
    const claimed = candidates.filter((c) => won.has(c._id) && !isHeld(c._id));
    return { seen: candidates.length, won: await this.classify(claimed) };
  }

  /**
   * Only we add rows to our ownership set, so when the count of rows we own (less those we are
   * settling ourselves) equals what we run, nothing changed — one count query per heartbeat. On a
   * mismatch: `owned` is every row we own (so the caller drops what it runs but lost), and `found`
   * the rows we own but do not run (a claim whose outcome FerretDB reported wrongly).
   */
  async check(view: HeldView): Promise<{ owned: Set<string>; found: OwnedRow[] } | null> {
    const n = await this.o.triggers.countOwned(this.o.triggererId, view.settlingIds);
    if (n === view.waitingCount) return null;
    const owned = await this.o.triggers.idsOwned(this.o.triggererId);
    const missing = [...owned].filter((id) => !view.isHeld(id));
    const docs = missing.length ? await this.o.store.triggers.find({ _id: { $in: missing }, triggerer_id: this.o.triggererId }).toArray() : [];
    return { owned, found: await this.classify(docs) };
  }

  /** Delete a row we own whose task moved on. */
  deleteOrphan(triggerId: string): Promise<void> {
    return this.o.triggers.deleteOwned(triggerId, this.o.triggererId).then(
      () => undefined,
      (e: unknown) => this.o.logger.warn({ err: e, triggerId }, 'Deleting an orphan trigger failed'),
    );
  }

  /**
   * Task rows changed by other processes (cleared, marked, resumed elsewhere): one range query on
   * the updated_at index per poll, overlapping the previous one by a second for late commits.
   */
  async changedTasks(watching: boolean): Promise<TaskRow[]> {
    if (!watching) {
      this.tiCursor = new Date();
      return [];
    }
    const since = new Date((this.tiCursor ?? new Date()).getTime() - 1_000);
    const rows = await this.o.store.taskInstances.find({ updated_at: { $gt: since } }, { projection: { state: 1, trigger_id: 1, updated_at: 1 } }).toArray();
    let max = this.tiCursor ?? since;
    for (const r of rows) if (r.updated_at > max) max = r.updated_at;
    this.tiCursor = max;
    return rows;
  }

  /** Rows with whether their task still waits on them (one query for the batch). */
  private async classify(docs: TriggerDoc[]): Promise<OwnedRow[]> {
    if (docs.length === 0) return [];
    const tiRows = await this.o.store.taskInstances
      .find({ _id: { $in: [...new Set(docs.map((d) => d.task_instance_id))] } }, { projection: { state: 1, trigger_id: 1 } })
      .toArray();
    const tiById = new Map(tiRows.map((t) => [t._id, t]));
    return docs.map((doc) => ({ doc, orphan: isOrphanTrigger(doc._id, tiById.get(doc.task_instance_id)) }));
  }
}
