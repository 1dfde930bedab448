/**
 * Which rows of a collection changed since a scheduler last looked, each read about once — the
 * scheduler's way to keep its in-memory view of running runs current without re-reading them
 * (issue 10.3). Pure bookkeeping; the reads it asks for are made by the caller.
 *
 * Two reads, because `updated_at` is stamped by each writer's clock when it sends the write:
 *   - the fast read, every pass: rows stamped after the newest stamp seen so far, plus rows
 *     stamped within `marginMs` before it that this cursor has not seen (`_id $nin` the few it
 *     has) — a batch whose rows share one stamp and become visible one by one, writes in flight.
 *     It misses a write committed later than that after its stamp (a writer whose clock is behind);
 *   - the window check, on a timer: time is cut into consecutive windows [from, to) that end
 *     `lagMs` before now; for each, the server counts the rows whose last change falls in it and
 *     sums their versions (one aggregate, one document back), and compares with what this cursor
 *     saw in the window. Equal: nothing was missed. Different: the window's rows are read once.
 *     A row is thus read once by the fast read and, only when something was missed, once more.
 * A row stamped more than `lagMs` in the past when it becomes visible (clock skew beyond the lag)
 * is missed by both; the scheduler's periodic rebuild of each run from the database covers it.
 *
 * Rows the reader is told of another way are left out of both reads and counts (`excluded`, the
 * same rule server-side and here): the scheduler's own writes, writes of processes that report
 * on its bus, and rows a worker is running (the scheduler needs their end, not their start).
 */

export interface CursorRow {
  _id: string;
  updated_at: Date;
  version?: number;
}

interface Known {
  version: number;
  at: number;
  excluded: boolean;
}

export interface CursorWindow {
  from: Date;
  to: Date;
}

export class ChangeCursor<R extends CursorRow> {
  private fast: number;
  private sweptUntil: number;
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly opts: {
      /** How late a write may become visible after its stamp (default 1000 ms). */
      lagMs?: number;
      /** Width of one checked window (default 500 ms). */
      windowMs?: number;
      /** How far before its newest stamp the fast read also looks, for rows not seen (default 100 ms). */
      marginMs?: number;
      /** Whether a row is left out of the reads (mirrors the server-side filter). */
      excluded: (row: R) => boolean;
    },
    startMs: number,
  ) {
    this.fast = startMs - this.lagMs;
    this.sweptUntil = startMs - this.lagMs;
  }

  get lagMs(): number {
    return this.opts.lagMs ?? 1000;
  }

  private get windowMs(): number {
    return this.opts.windowMs ?? 500;
  }

  /**
   * The fast read: rows stamped after `after`, or stamped in [marginFrom, after] and not one of
   * `seen` (the caller adds the exclusion filter).
   */
  fastRead(): { after: Date; marginFrom: Date; seen: string[] } {
    // Windows already checked hold nothing unseen.
    const marginFrom = Math.max(this.fast - (this.opts.marginMs ?? 100), this.sweptUntil);
    const seen: string[] = [];
    for (const [id, k] of this.known) if (!k.excluded && k.at >= marginFrom && k.at <= this.fast) seen.push(id);
    return { after: new Date(this.fast), marginFrom: new Date(marginFrom), seen };
  }

  /** Start over from `nowMs` (after a full reload): earlier changes are in what was reloaded. */
  restart(nowMs: number): void {
    this.fast = nowMs - this.lagMs;
    this.sweptUntil = nowMs - this.lagMs;
    this.known.clear();
  }

  /**
   * Rows a read returned: those newer than what was seen of them (by version) come back, to be
   * applied; the fast cursor moves to the newest stamp.
   */
  admit(rows: readonly R[], opts: { fast: boolean }): R[] {
    const out: R[] = [];
    for (const r of rows) {
      const at = r.updated_at.getTime();
      if (opts.fast && at > this.fast) this.fast = at;
      const version = r.version ?? 0;
      const seen = this.known.get(r._id);
      if (seen && seen.version >= version) continue;
      this.note(r._id, version, at, this.opts.excluded(r));
      out.push(r);
    }
    return out;
  }

  /** A row this process changed itself (its after-image): known without reading it. */
  noteOwn(row: R): void {
    const seen = this.known.get(row._id);
    if (seen && seen.version > (row.version ?? 0)) return;
    this.note(row._id, row.version ?? 0, row.updated_at.getTime(), this.opts.excluded(row));
  }

  private note(id: string, version: number, at: number, excluded: boolean): void {
    // Rows in windows already checked never need counting again.
    if (at < this.sweptUntil) {
      this.known.delete(id);
      return;
    }
    this.known.set(id, { version, at, excluded });
  }

  /** The next window due at `nowMs`, or null (it must end `lagMs` before now). */
  nextWindow(nowMs: number): CursorWindow | null {
    const to = Math.min(this.sweptUntil + this.windowMs, nowMs - this.lagMs);
    if (to <= this.sweptUntil) return null;
    // A window that would be much shorter than the others waits for its full width.
    if (to - this.sweptUntil < this.windowMs && nowMs - this.lagMs - this.sweptUntil < this.windowMs) return null;
    return { from: new Date(this.sweptUntil), to: new Date(to) };
  }

  /** What this cursor saw last changing inside the window (rows not excluded): count and version sum. */
  localChecksum(w: CursorWindow): { n: number; v: number } {
    const from = w.from.getTime();
    const to = w.to.getTime();
    let n = 0;
    let v = 0;
    for (const k of this.known.values()) {
      if (k.excluded || k.at < from || k.at >= to) continue;
      n += 1;
      v += k.version;
    }
    return { n, v };
  }

  /** The window is verified (checksums agreed, or its rows were read and admitted). */
  windowDone(w: CursorWindow): void {
    const to = w.to.getTime();
    this.sweptUntil = to;
    for (const [id, k] of this.known) if (k.at < to) this.known.delete(id);
    if (this.fast < to) this.fast = to;
  }

  /** Rows remembered for the window checks (bounded by the rate of changes × (lag + window)). */
  get size(): number {
    return this.known.size;
  }
}
