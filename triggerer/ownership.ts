/**
 * Which triggers a triggerer owns, and keeping that true. Ownership is by SHARD: every trigger row
 * carries a shard number, and a triggerer holds every trigger of the shards it leases
 * (src/store/transitions/trigger-shard-leases.ts). So claiming N triggers is O(shards) lease writes
 * plus one streamed read of the rows, and adopting a dead triggerer's triggers is a lease takeover.
 *
 * Each shard held here goes through an explicit life (SHARD_EDGES):
 *
 *   loading ──rows read, triggers started, lease marked started──▶ running
 *   running ──a live triggerer asked for it; handed over──▶ draining ──new holder started it──▶ gone
 *   loading / running / draining ──the row names another holder (our lease expired and was taken)──▶ gone
 *   any ──clean stop──▶ gone (released: free for anyone at once)
 *
 * While draining, this triggerer keeps running the shard's triggers: the new holder has not
 * started them yet, so an event for one of them still reaches a trigger (or is resolved from
 * MongoDB, or handed back — never acknowledged past a trigger that wants it). Two holders for a
 * moment are safe: a resume is a guarded transition, so only one takes effect; the remote jobs are
 * never touched by a hand-over (Airflow #41231).
 *
 * Fair share: a triggerer aims at shards in proportion to its capacity among the live triggerers,
 * and takes a shard only while the triggers it would hold fit its capacity (a triggerer holding
 * nothing always takes one, so every trigger finds a holder). A joining triggerer asks the most
 * loaded holders for shards; they hand them over at their next heartbeat.
 *
 * Timing: a lease lasts `leaseMs` from its last renewal (the holder's heartbeat). The claim loop
 * polls, and also wakes exactly when the earliest lease of another triggerer runs out, so the
 * shards of a triggerer killed hard are taken `leaseMs` (+ one write) after its last heartbeat.
 *
 * Cost per heartbeat: the job row, one bulk lease renewal, one read of the shard rows and of the
 * live triggerers, and one count of the rows in the shards held (ids are read only when the count
 * disagrees twice in a row). Per claim poll: the shard rows, the live triggerers, and the ids of
 * rows created since the last poll.
 */
import type { Logger } from 'pino';
import type { TriggererMetrics } from '../src/metrics/triggerer-metrics.ts';
import { TRIGGER_SHARD_COUNT, triggerShardOf, type TaskInstanceDoc, type TriggerDoc, type TriggerShardDoc } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import type { TriggerShardLeases } from '../src/store/transitions/trigger-shard-leases.ts';
import type { TriggerTransitions } from '../src/store/transitions/trigger-transitions.ts';
import { isOrphanTrigger } from './outcome.ts';
import { TriggererJob, type LiveTriggerer } from './triggerer-job.ts';

/** A row this triggerer now owns, and whether its task still waits on it. */
export interface OwnedRow {
  doc: TriggerDoc;
  orphan: boolean;
}

export type TaskRow = Pick<TaskInstanceDoc, '_id' | 'state' | 'trigger_id'>;

export type ShardState = 'loading' | 'running' | 'draining' | 'gone';

export const SHARD_EDGES: Readonly<Record<ShardState, readonly ShardState[]>> = {
  loading: ['running', 'gone'],
  running: ['draining', 'gone'],
  draining: ['running', 'gone'],
  gone: [],
};

interface HeldShard {
  shard: number;
  state: ShardState;
  /** The lease epoch this triggerer holds it under (marking it started names it). */
  epoch: number;
  /** Date.now() when our write that made it ours returned: a read begun before it may not show it. */
  since: number;
  /** draining: the triggerer it was handed to. */
  to: string | null;
}

export interface OwnershipOptions {
  store: Store;
  triggers: TriggerTransitions;
  leases: TriggerShardLeases;
  triggererId: string;
  capacity: number;
  /** Lease length: a triggerer whose heartbeat stopped this long ago loses its shards. */
  leaseMs: number;
  logger: Logger;
  metrics: TriggererMetrics;
  /** Test hook: called right before a lease write that would make a shard ours (widens the stop/claim race). */
  leasing?(shard: number): Promise<void>;
}

/** What the triggerer runs, as ownership needs it. */
export interface HeldView {
  /** Held triggers in total (any state). */
  size: number;
  /** Triggers still waiting, per shard (their rows must exist). */
  waitingByShard: ReadonlyMap<number, number>;
  /** Rows that may vanish any moment by our own doing (outcome stored, orphan deleted, delete pending). */
  settlingIds: string[];
  isHeld(id: string): boolean;
  /** Ids of the waiting triggers of these shards. */
  waitingIn(shards: ReadonlySet<number>): string[];
}

/** What the triggerer must do after a look at the leases. */
export interface OwnershipChanges {
  /** Shards no longer ours to run: drop their triggers. */
  dropShards: number[];
}

/** Handed rows in batches as a claim reads them (so 100k rows never sit in memory at once). */
export type AdoptBatch = (rows: OwnedRow[]) => Promise<void>;

/** A request whose requester has not heartbeaten for this many leases is cleared (it died). */
const STALE_REQUEST_LEASES = 5;

/** Rows created this close to the previous poll's cursor are read again (other machines' clocks, late inserts). */
const NEW_ROW_OVERLAP_MS = 2_000;

export class TriggerOwnership {
  private readonly job: TriggererJob;
  private readonly shards = new Map<number, HeldShard>();
  private rows: TriggerShardDoc[] = [];
  private live: LiveTriggerer[] = [];
  private newRowCursor: Date | null = null;
  private countMismatches = 0;
  /** Trigger counts last written on our shard rows. */
  private readonly countsWritten = new Map<number, number>();
  /**
   * Set by releaseAll (a clean stop): from then on no lease is taken, and one whose write was
   * already on its way when we released is given back as soon as it returns — a claim finishing
   * after the release never re-owns shards (the triggerer also waits for its claim; this fences
   * what a timed-out wait leaves behind).
   */
  private closed = false;
  /** Requests for our shards whose requester is not live, by `shard|requester`: since when. */
  private readonly unanswerable = new Map<string, number>();
  /**
   * Shards whose hand-over write is on its way. A look whose read lands after that write but is
   * judged before we mark the shard draining would see another holder on a shard we run and take
   * it for lost (dropping triggers the new holder has not started): looks leave these shards alone
   * until the write returns and the shard is draining, stamped after every read begun before it.
   */
  private readonly handingOver = new Set<number>();

  constructor(private readonly o: OwnershipOptions) {
    this.job = new TriggererJob(o.store, o.triggererId, o.capacity);
  }

  async register(): Promise<void> {
    await this.job.register();
    await this.o.leases.ensureRows();
    const filled = await this.o.triggers.fillMissingShards();
    if (filled > 0) this.o.logger.info({ rows: filled }, 'Gave trigger rows written before shards existed their shard');
  }

  /** Shards whose triggers this triggerer runs (loading, running or draining). */
  get heldShards(): number[] {
    return [...this.shards.values()].filter((s) => s.state !== 'gone').map((s) => s.shard);
  }

  /** Shards whose lease is ours (not handed over). */
  get leasedShards(): number[] {
    return [...this.shards.values()].filter((s) => s.state === 'loading' || s.state === 'running').map((s) => s.shard);
  }

  /** Whether this triggerer still runs the row's shard (loading, running or draining). */
  runsShardOf(doc: Pick<TriggerDoc, '_id' | 'shard'>): boolean {
    return this.shards.has(doc.shard ?? triggerShardOf(doc._id));
  }

  shardState(shard: number): ShardState | null {
    return this.shards.get(shard)?.state ?? null;
  }

  /** When the earliest live lease of another triggerer runs out (the claim loop wakes then). */
  nextForeignExpiry(now = Date.now()): number | null {
    let next: number | null = null;
    for (const r of this.rows) {
      if (!r.holder || r.holder === this.o.triggererId) continue;
      const t = r.expires_at.getTime();
      if (t > now && (next === null || t < next)) next = t;
    }
    return next;
  }

  // ------------------------------------------------------------------ heartbeat

  /**
   * Heartbeat: the job row and the leases (with how many triggers each shard holds), then a look at
   * the rows: hand over what live triggerers asked for, let go of drained and lost shards.
   */
  async heartbeat(view: HeldView): Promise<OwnershipChanges> {
    // Released (stopping): the job row is ended and must stay so.
    if (this.closed) return { dropShards: [] };
    if (!(await this.job.heartbeat(view.size))) await this.job.register();
    const leased = this.leasedShards;
    // Trigger counts per shard (for others' capacity decisions) only when they changed.
    const counts = new Map<number, number>();
    for (const shard of leased) {
      const n = view.waitingByShard.get(shard) ?? 0;
      if (this.countsWritten.get(shard) !== n) counts.set(shard, n);
    }
    await this.o.leases.renew(this.o.triggererId, leased, this.o.leaseMs, counts);
    for (const [shard, n] of counts) this.countsWritten.set(shard, n);
    const changes = await this.look();
    await this.honourRequests();
    return changes;
  }

  /**
   * Rows in the shards we run must be exactly the waiting triggers (less those we are settling).
   * One count per heartbeat; on a mismatch seen twice in a row (a create or delete in flight
   * explains one), the ids: `missing` rows to start, `vanished` triggers to cancel.
   */
  async check(view: HeldView): Promise<{ missing: OwnedRow[]; vanished: Set<string> } | null> {
    const running = [...this.shards.values()].filter((s) => s.state === 'running').map((s) => s.shard);
    if (running.length === 0) return null;
    const n = await this.o.triggers.countInShards(running, view.settlingIds);
    let waiting = 0;
    for (const s of running) waiting += view.waitingByShard.get(s) ?? 0;
    if (n === waiting) {
      this.countMismatches = 0;
      return null;
    }
    if (++this.countMismatches < 2) return null;
    this.countMismatches = 0;
    const ids = await this.o.triggers.idsInShards(running);
    const settling = new Set(view.settlingIds);
    const missingIds = [...ids].filter((id) => !view.isHeld(id) && !settling.has(id));
    const docs = await this.o.triggers.byIds(missingIds);
    const vanished = new Set(view.waitingIn(new Set(running)).filter((id) => !ids.has(id)));
    return { missing: await this.classify(docs), vanished };
  }

  // ------------------------------------------------------------------ claiming

  /**
   * One claim round: take free or expired shards up to the fair share and capacity, ask live
   * holders for the rest of the share, start the rows of shards we just got (streamed to `adopt`),
   * and pick up rows created since the last round in the shards we run.
   */
  async claim(view: HeldView, adopt: AdoptBatch, keepGoing: () => boolean): Promise<OwnershipChanges> {
    const changes = await this.look();
    if (!keepGoing()) return changes;
    await this.acquireShare(view, keepGoing);
    await this.loadNewShards(adopt, keepGoing);
    if (keepGoing()) await this.pollNewRows(view, adopt);
    return changes;
  }

  /**
   * Clean stop: release every lease for adoption at once, end the job row. Requests we made are
   * withdrawn first (so no holder can hand us a shard after this), then every row naming us is
   * released — what we know we hold and whatever a hand-over or a late claim write gave us.
   */
  async releaseAll(): Promise<number> {
    this.closed = true;
    const me = this.o.triggererId;
    const asked = (await this.o.leases.all()).filter((r) => r.wanted_by === me).map((r) => r.shard);
    if (asked.length) await this.o.leases.withdrawRequests(me, asked);
    const known = [...this.shards.values()].filter((s) => s.state !== 'gone').map((s) => s.shard);
    const named = await this.o.leases.heldBy(me);
    const released = await this.o.leases.release(me, [...new Set([...known, ...named])]);
    for (const s of this.shards.values()) this.to(s, 'gone');
    this.shards.clear();
    await this.job.end('success');
    return released;
  }

  /**
   * Task rows changed by other processes (cleared, marked, resumed elsewhere): one range query on
   * the updated_at index per poll, overlapping the previous one by a second for late commits.
   */
  private tiCursor: Date | null = null;
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

  // ------------------------------------------------------------------ internals

  /** Read the live triggerers and the shard rows; settle what the rows say about shards we run. */
  private async look(): Promise<OwnershipChanges> {
    if (this.closed) return { dropShards: [] };
    const readStart = Date.now();
    const [live, rows] = await Promise.all([this.job.live(this.o.leaseMs), this.o.leases.all()]);
    this.live = live;
    if (rows.length < TRIGGER_SHARD_COUNT) await this.o.leases.ensureRows();
    this.rows = rows;
    const dropShards: number[] = [];
    const restart: HeldShard[] = [];
    const now = Date.now();
    for (const row of rows) {
      const held = this.shards.get(row.shard);
      if (!held) {
        // Handed to us by its previous holder: ours to load now.
        if (row.holder === this.o.triggererId && row.expires_at.getTime() > now)
          this.shards.set(row.shard, { shard: row.shard, state: 'loading', epoch: row.epoch, since: readStart, to: null });
        continue;
      }
      if (held.since > readStart) continue; // a read begun before our own write may not show it
      if (this.handingOver.has(row.shard)) continue; // our own hand-over, not yet recorded here
      if (held.state === 'draining') {
        const newHolderLost = row.holder !== held.to;
        if (row.started || newHolderLost || row.expires_at.getTime() < now) {
          if (row.holder === this.o.triggererId) {
            // Handed back (e.g. the requester died and we took it again): keep running it.
            held.epoch = row.epoch;
            held.to = null;
            held.since = Date.now();
            this.to(held, 'running');
            continue;
          }
          this.to(held, 'gone');
          this.shards.delete(row.shard);
          dropShards.push(row.shard);
        }
        continue;
      }
      if (row.holder === this.o.triggererId) {
        held.epoch = Math.max(held.epoch, row.epoch);
        // Running here but the row does not say so: on a server whose updates are not atomic
        // (FerretDB v1) a lock-free renewal can write back the row it read over our markStarted.
        // Say it again, or the previous holder would keep running the shard's triggers for good.
        if (held.state === 'running' && !row.started) restart.push(held);
        continue;
      }
      this.o.logger.warn(
        { shard: row.shard, holder: row.holder },
        'Lost a trigger shard (our lease expired and another triggerer took it); dropping its triggers',
      );
      this.to(held, 'gone');
      this.shards.delete(row.shard);
      dropShards.push(row.shard);
    }
    for (const held of restart) await this.o.leases.markStarted(held.shard, this.o.triggererId, held.epoch);
    return { dropShards };
  }

  /** Shards we should hold: our capacity's share of every live triggerer's. */
  private targetShards(): number {
    const me = this.live.find((l) => l.id === this.o.triggererId);
    const others = this.live.filter((l) => l.id !== this.o.triggererId);
    const mine = me?.capacity ?? this.o.capacity;
    const total = mine + others.reduce((s, l) => s + Math.max(1, l.capacity ?? 1), 0);
    return Math.max(1, Math.ceil((TRIGGER_SHARD_COUNT * mine) / total));
  }

  private async acquireShare(view: HeldView, keepGoing: () => boolean): Promise<void> {
    const now = Date.now();
    const target = this.targetShards();
    const liveIds = new Set(this.live.map((l) => l.id));
    let holding = this.leasedShards.length;
    let triggers = view.size;
    // Free shards first, then those of dead triggerers (adoption), in shard order.
    const free = this.rows
      .filter((r) => !this.shards.has(r.shard) && (r.holder === null || r.expires_at.getTime() < now))
      .sort((a, b) => Number(a.holder !== null) - Number(b.holder !== null) || a.shard - b.shard);
    for (const row of free) {
      if (holding >= target) break;
      if (holding > 0 && triggers + row.triggers > this.o.capacity) continue;
      if (this.o.leasing) await this.o.leasing(row.shard);
      // Stopping: take nothing more (stop() releases what we hold).
      if (!keepGoing() || this.closed) return;
      const got = await this.o.leases.acquire(row.shard, this.o.triggererId, this.o.leaseMs);
      if (!got) continue;
      if (this.closed) {
        // Released while this write was on its way: give it straight back.
        await this.o.leases.release(this.o.triggererId, [row.shard]);
        return;
      }
      const from = row.holder && row.holder !== this.o.triggererId && !liveIds.has(row.holder) ? row.holder : null;
      if (from) this.o.logger.warn({ shard: row.shard, from }, 'Took over the trigger shard of a triggerer whose heartbeat stopped');
      this.shards.set(row.shard, { shard: row.shard, state: 'loading', epoch: got.epoch, since: Date.now(), to: from });
      holding++;
      triggers += row.triggers;
    }
    if (holding >= target) {
      const asked = this.rows.filter((r) => r.wanted_by === this.o.triggererId).map((r) => r.shard);
      if (asked.length) await this.o.leases.withdrawRequests(this.o.triggererId, asked);
      return;
    }
    // Still short of our share: ask the most loaded live holders for shards they hold beyond theirs.
    const pending = this.rows.filter((r) => r.wanted_by === this.o.triggererId).length;
    let want = target - holding - pending;
    if (want <= 0) return;
    const byHolder = new Map<string, TriggerShardDoc[]>();
    for (const r of this.rows) {
      if (!r.holder || r.holder === this.o.triggererId || !liveIds.has(r.holder) || r.expires_at.getTime() < now) continue;
      byHolder.set(r.holder, [...(byHolder.get(r.holder) ?? []), r]);
    }
    const fairOf = (id: string): number => {
      const cap = this.live.find((l) => l.id === id)?.capacity ?? 1;
      const total = this.live.reduce((s, l) => s + Math.max(1, l.capacity ?? 1), 0);
      return Math.ceil((TRIGGER_SHARD_COUNT * cap) / Math.max(1, total));
    };
    const holders = [...byHolder.entries()].sort((a, b) => b[1].length - fairOf(b[0]) - (a[1].length - fairOf(a[0])));
    for (const [holder, rows] of holders) {
      if (!keepGoing() || this.closed) return;
      let surplus = rows.length - fairOf(holder);
      for (const r of rows.sort((a, b) => b.shard - a.shard)) {
        if (want <= 0 || surplus <= 0) break;
        if (r.wanted_by || !r.started) continue;
        if (!keepGoing() || this.closed) return;
        if (holding > 0 && triggers + r.triggers > this.o.capacity) continue;
        if (await this.o.leases.request(r.shard, holder, this.o.triggererId)) {
          want--;
          surplus--;
          triggers += r.triggers;
        }
      }
      if (want <= 0) break;
    }
  }

  /** Live triggerers asked for shards we run: hand them over (we keep running them until started there). */
  private async honourRequests(): Promise<void> {
    if (this.closed) return;
    const liveIds = new Set(this.live.map((l) => l.id));
    for (const row of this.rows) {
      const held = this.shards.get(row.shard);
      if (held?.state !== 'running' || row.holder !== this.o.triggererId || !row.wanted_by) continue;
      if (row.wanted_by === this.o.triggererId) continue;
      if (!liveIds.has(row.wanted_by)) {
        // The requester's heartbeat is late: it may be stalled (honour it once it beats again) or
        // dead — then its request would block every later one, so clear it after a long grace.
        const key = `${row.shard}|${row.wanted_by}`;
        const since = this.unanswerable.get(key) ?? Date.now();
        this.unanswerable.set(key, since);
        if (Date.now() - since > STALE_REQUEST_LEASES * this.o.leaseMs) {
          await this.o.leases.dropRequest(row.shard, this.o.triggererId, row.wanted_by);
          this.unanswerable.delete(key);
        }
        continue;
      }
      this.unanswerable.delete(`${row.shard}|${row.wanted_by}`);
      this.handingOver.add(row.shard);
      let handed: boolean;
      try {
        handed = await this.o.leases.handOver(row.shard, this.o.triggererId, row.wanted_by, this.o.leaseMs);
      } finally {
        this.handingOver.delete(row.shard);
      }
      // The other loop may have settled this shard while we wrote (lost, released).
      if (handed && this.shards.get(row.shard) === held && held.state === 'running') {
        this.o.logger.info(
          { shard: row.shard, to: row.wanted_by },
          'Handed a trigger shard over to a joining triggerer (its triggers run here until they run there)',
        );
        held.to = row.wanted_by;
        held.since = Date.now();
        this.to(held, 'draining');
      }
    }
  }

  /** Read and start the rows of shards we just got, in batches; then tell the leases they run here. */
  private async loadNewShards(adopt: AdoptBatch, keepGoing: () => boolean): Promise<void> {
    const loading = [...this.shards.values()].filter((s) => s.state === 'loading');
    if (loading.length === 0) return;
    const shards = loading.map((s) => s.shard);
    const startedAt = new Date(Date.now() - NEW_ROW_OVERLAP_MS);
    let adopted = 0;
    let adoptedFromDead = 0;
    const fromDead = new Set(loading.filter((s) => s.to !== null).map((s) => s.shard));
    let batch: TriggerDoc[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      // A shard lost while its rows were being read is not ours to start any more.
      const still = batch.filter((d) => this.shards.get(d.shard ?? triggerShardOf(d._id))?.state === 'loading');
      batch = [];
      const rows = await this.classify(still);
      // Awaited: the shard is marked started (its previous holder then lets go) only once its triggers run here.
      await adopt(rows);
      adopted += rows.length;
      adoptedFromDead += rows.filter((r) => fromDead.has(r.doc.shard ?? triggerShardOf(r.doc._id))).length;
    };
    for await (const doc of this.o.triggers.rowsOfShards(shards)) {
      if (!keepGoing()) return;
      batch.push(doc);
      if (batch.length >= 5_000) await flush();
    }
    if (!keepGoing()) return;
    await flush();
    // The new-row poll continues from before this read: rows inserted during it are picked up there.
    if (!this.newRowCursor || this.newRowCursor > startedAt) this.newRowCursor = startedAt;
    for (const s of loading) {
      if (this.shards.get(s.shard) !== s || s.state !== 'loading') continue;
      s.to = null;
      this.to(s, 'running');
      await this.o.leases.markStarted(s.shard, this.o.triggererId, s.epoch);
    }
    if (adopted > 0) {
      this.o.metrics.triggersClaimed.inc({ triggerer_id: this.o.triggererId, how: 'unowned' }, adopted - adoptedFromDead);
      if (adoptedFromDead > 0) this.o.metrics.triggersClaimed.inc({ triggerer_id: this.o.triggererId, how: 'adopted' }, adoptedFromDead);
      this.o.logger.debug({ shards, triggers: adopted }, 'Took trigger shards');
    }
  }

  /** Rows created in the shards we run since the last poll (ids first; full rows only for new ones). */
  private async pollNewRows(view: HeldView, adopt: AdoptBatch): Promise<void> {
    const running = [...this.shards.values()].filter((s) => s.state === 'running' || s.state === 'draining').map((s) => s.shard);
    if (running.length === 0) return;
    const readAt = new Date();
    const since = new Date((this.newRowCursor ?? readAt).getTime() - NEW_ROW_OVERLAP_MS);
    const rows = await this.o.triggers.idsCreatedSince(running, since);
    let max = this.newRowCursor ?? since;
    for (const r of rows) if (r.created_at > max) max = r.created_at;
    this.newRowCursor = max > readAt ? readAt : max;
    const settling = new Set(view.settlingIds);
    const fresh = rows.filter((r) => !view.isHeld(r._id) && !settling.has(r._id)).map((r) => r._id);
    if (fresh.length === 0) return;
    const docs = await this.o.triggers.byIds(fresh);
    await adopt(await this.classify(docs));
  }

  /** Rows with whether their task still waits on them (one query per batch). */
  private async classify(docs: TriggerDoc[]): Promise<OwnedRow[]> {
    if (docs.length === 0) return [];
    const tiRows = await this.o.store.taskInstances
      .find({ _id: { $in: [...new Set(docs.map((d) => d.task_instance_id))] } }, { projection: { state: 1, trigger_id: 1 } })
      .toArray();
    const tiById = new Map(tiRows.map((t) => [t._id, t]));
    return docs.map((doc) => ({ doc, orphan: isOrphanTrigger(doc._id, tiById.get(doc.task_instance_id)) }));
  }

  private to(s: HeldShard, next: ShardState): void {
    if (s.state === next) return;
    if (!SHARD_EDGES[s.state].includes(next)) throw new Error(`Invalid shard transition ${s.state} → ${next} (shard ${s.shard})`);
    s.state = next;
  }
}
