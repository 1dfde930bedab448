/**
 * Guarded single-document updates that are atomic on every server we support.
 *
 * On MongoDB, `findOneAndUpdate` / `updateOne` are atomic per document: the filter is checked and
 * the update applied under the document's lock, so a guarded transition that loses a race matches
 * nothing. FerretDB v1 (our test server) is NOT: its handlers read the matching document, apply the
 * operators in memory and write the whole document back, with nothing in between (FerretDB issue
 * #3040; measured here: 100 concurrent claims of 50 queued rows returned 100 "winners"). Two
 * workers would then both claim one task, and a lease renewal could resurrect a reaped task.
 *
 * On such a server every write to a document first takes a short per-document lock: an insert into
 * `doc_locks` with a unique `_id` (unique-key inserts ARE atomic there), then the ordinary guarded
 * update, then the lock is deleted. While the lock is held no other writer touches the document,
 * so the server's read-check-write becomes atomic. A lock left by a dead process expires after
 * `lockTtlMs` and is taken over.
 *
 * Many update statements in one command (`bulkWriteUpdates`) are the other thing such a server
 * gets wrong: FerretDB v1 can hang a whole database on them, so there they go one per command
 * (see the function).
 *
 * The mode is detected once per database from `buildInfo` (FerretDB reports `ferretdbVersion`);
 * `DEFERFLOW_DOC_LOCKS=1|0` forces it.
 */
import { randomUUID } from 'node:crypto';
import type { AnyBulkWriteOperation, Collection, Db, Document, Filter, Sort, UpdateFilter, WithId } from 'mongodb';
import { DOC_LOCKS_COLLECTION, type DocLockDoc } from '../schema.ts';
import { isDuplicateKey } from './duplicate-key.ts';
import { DeferflowError } from '../../errors/deferflow-error.ts';

const modeByDb = new WeakMap<Db, Promise<boolean>>();

/** Whether writes to this database need per-document locks (non-atomic server). */
export function needsDocLocks(db: Db): Promise<boolean> {
  const forced = process.env.DEFERFLOW_DOC_LOCKS;
  if (forced === '1' || forced === 'true') return Promise.resolve(true);
  if (forced === '0' || forced === 'false') return Promise.resolve(false);
  let p = modeByDb.get(db);
  if (!p) {
    p = db
      .command({ buildInfo: 1 })
      .then((info) => 'ferretdbVersion' in info)
      .catch(() => false);
    modeByDb.set(db, p);
  }
  return p;
}

export interface UpdateCounts {
  matchedCount: number;
  upsertedCount: number;
}

/**
 * `col.bulkWrite(ops, { ordered })` of update statements (`updateOne` / `updateMany` /
 * `replaceOne`, upserts included) that every supported server completes. Use it for every
 * multi-statement update.
 *
 * Why not bulkWrite itself: FerretDB v1's `update` handler opens a query cursor per statement and
 * closes them all only when the command ends (a `defer` inside its loop over the statements,
 * handler/msg_update.go). A statement that matched a document without reading its cursor to the
 * end — every `updateOne` that found its row — keeps one connection of that database's SQLite
 * pool, which has 100. So a command of 100 such statements waits for a connection only it could
 * free, and two commands at once hang at fewer: 60 + 40 in the hang we met, two triggerers
 * starting together and each upserting the 64 existing shard rows (TriggerShardLeases.ensureRows).
 * From then on every query on that database waits forever, from every client, until FerretDB
 * restarts. Measured on 1.24.2 (SQLite): one command of 99 matching `updateOne`s takes 0.2 s, one
 * of 100 never ends, two at once of 80 never end.
 *
 * So there (the servers that need per-document locks) each statement is a command of its own, one
 * after the other: a command then holds at most one cursor, like every single `updateOne` we send.
 * It costs round trips, hardly time: FerretDB scans per statement either way (64 statements: 165 ms
 * as one command, about 170 ms as 64). Ordered: stops at the first error and throws it, as
 * bulkWrite does. Unordered: tries every statement, then throws the first error — one that is not
 * a duplicate key if there is one, since duplicate keys are what callers expect and handle (two
 * processes racing the same upserts).
 */
export async function bulkWriteUpdates<T extends Document>(
  db: Db,
  col: Collection<T>,
  ops: ReadonlyArray<AnyBulkWriteOperation<T>>,
  opts: { ordered?: boolean } = {},
): Promise<UpdateCounts> {
  if (ops.length === 0) return { matchedCount: 0, upsertedCount: 0 };
  const ordered = opts.ordered ?? true;
  if (ops.length === 1 || !(await needsDocLocks(db))) {
    const r = await col.bulkWrite([...ops], { ordered });
    return { matchedCount: r.matchedCount, upsertedCount: r.upsertedCount };
  }
  const counts: UpdateCounts = { matchedCount: 0, upsertedCount: 0 };
  const errors: unknown[] = [];
  for (const op of ops) {
    try {
      const r = await col.bulkWrite([op], { ordered: true });
      counts.matchedCount += r.matchedCount;
      counts.upsertedCount += r.upsertedCount;
    } catch (e) {
      if (ordered) throw e;
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors.find((e) => !isDuplicateKey(e)) ?? errors[0];
  return counts;
}

export interface AtomicUpdaterOptions {
  lockTtlMs?: number;
  /** How long to wait for another writer's lock on the same document before giving up. */
  lockWaitMs?: number;
}

export class AtomicUpdater<T extends Document & { _id: string }> {
  private readonly locks: Collection<DocLockDoc>;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;

  constructor(
    private readonly db: Db,
    private readonly col: Collection<T>,
    opts: AtomicUpdaterOptions = {},
  ) {
    this.locks = db.collection<DocLockDoc>(DOC_LOCKS_COLLECTION);
    this.lockTtlMs = opts.lockTtlMs ?? 10_000;
    this.lockWaitMs = opts.lockWaitMs ?? 5_000;
  }

  /**
   * `findOneAndUpdate(filter, update, { sort, returnDocument: 'after' })`, atomic. With a sort and no
   * `_id` in the filter (a claim), candidates whose lock is busy are skipped for the next one.
   */
  async findOneAndUpdate(filter: Filter<T>, update: UpdateFilter<T>, opts: { sort?: Sort } = {}): Promise<WithId<T> | null> {
    if (!(await needsDocLocks(this.db))) {
      return this.col.findOneAndUpdate(filter, update, { returnDocument: 'after', ...(opts.sort ? { sort: opts.sort } : {}) });
    }
    const byId = typeof (filter as { _id?: unknown })._id === 'string';
    if (byId) {
      const id = (filter as { _id: string })._id;
      return this.withLock(id, true, () => this.col.findOneAndUpdate(filter, update, { returnDocument: 'after' }));
    }
    // A claim: look at a few candidates in the caller's order (priority, then FIFO) and take the
    // first whose lock is free and that still matches. Concurrent claimers start at the same
    // candidate; the losers find its lock busy and move on to the next one, as SKIP LOCKED does.
    const sortKeys = opts.sort && typeof opts.sort === 'object' && !Array.isArray(opts.sort) ? Object.keys(opts.sort) : [];
    const projection = Object.fromEntries([['_id', 1], ...sortKeys.map((k) => [k, 1])]);
    for (let round = 0; round < 3; round++) {
      const cursor = this.col.find(filter, { projection }).limit(32);
      if (opts.sort) cursor.sort(opts.sort);
      const candidates = (await cursor.toArray()) as Array<{ _id: string }>;
      if (candidates.length === 0) return null;
      for (const c of candidates) {
        const doc = await this.withLock(c._id, false, () =>
          this.col.findOneAndUpdate({ ...filter, _id: c._id } as Filter<T>, update, { returnDocument: 'after' }),
        );
        if (doc) return doc;
      }
    }
    return null;
  }

  /** `updateOne(filter with _id, update)` atomic; true when a document matched. */
  async updateOne(filter: Filter<T> & { _id: string }, update: UpdateFilter<T>): Promise<boolean> {
    if (!(await needsDocLocks(this.db))) return (await this.col.updateOne(filter, update)).matchedCount === 1;
    return (await this.withLock(filter._id, true, async () => (await this.col.updateOne(filter, update)).matchedCount === 1)) ?? false;
  }

  /**
   * Many guarded single-document updates (each filter names its `_id`) in one round trip
   * (`bulkWrite`, unordered); returns how many matched. Each stays atomic on its own document, a
   * losing guard matches nothing, and the server does not say which ones matched — callers that
   * need to know read the rows back (TaskInstanceTransitions.applyBatch).
   *
   * On a server that needs per-document locks, the locks of the whole batch are taken with one
   * insert; rows whose lock is busy are skipped when `skipBusy` (a claim: another worker has that
   * row) or else written one by one, waiting for their lock. The updates themselves then go one
   * statement per command (bulkWriteUpdates: a long batch would hang FerretDB).
   */
  async bulkUpdate(ops: ReadonlyArray<{ filter: Filter<T> & { _id: string }; update: UpdateFilter<T> }>, opts: { skipBusy?: boolean } = {}): Promise<number> {
    if (ops.length === 0) return 0;
    const write = async (batch: ReadonlyArray<{ filter: Filter<T> & { _id: string }; update: UpdateFilter<T> }>): Promise<number> => {
      if (batch.length === 0) return 0;
      const r = await bulkWriteUpdates(
        this.db,
        this.col,
        batch.map((o) => ({ updateOne: { filter: o.filter, update: o.update } })) as unknown as AnyBulkWriteOperation<T>[],
        { ordered: false },
      );
      return r.matchedCount;
    };
    if (!(await needsDocLocks(this.db))) return write(ops);
    const holder = randomUUID();
    const expires = new Date(Date.now() + this.lockTtlMs);
    const lockIds = ops.map((o) => `${this.col.collectionName}:${o.filter._id}`);
    const busy = new Set<number>();
    try {
      await this.locks.insertMany(
        lockIds.map((id) => ({ _id: id, holder, expires_at: expires })),
        { ordered: false },
      );
    } catch (e) {
      const errors = (e as { writeErrors?: Array<{ index: number; code?: number }> | { index: number; code?: number } }).writeErrors;
      const list = Array.isArray(errors) ? errors : errors ? [errors] : [];
      if (list.length === 0 || list.some((w) => w.code !== 11000)) throw e;
      for (const w of list) busy.add(w.index);
    }
    let matched = 0;
    try {
      matched += await write(ops.filter((_, i) => !busy.has(i)));
    } finally {
      await this.locks.deleteMany({ _id: { $in: lockIds.filter((_, i) => !busy.has(i)) }, holder }).catch(() => undefined);
    }
    for (const i of busy) {
      const { filter, update } = ops[i]!;
      // A busy lock left by a dead process is taken over here too (tryLock); a live one is skipped
      // (claims) or waited for.
      const ok = opts.skipBusy
        ? await this.withLock(filter._id, false, async () => (await this.col.updateOne(filter, update)).matchedCount === 1)
        : await this.updateOne(filter, update);
      if (ok) matched += 1;
    }
    return matched;
  }

  /**
   * Run `fn` holding the document's lock. Busy lock: null at once when !wait (a claim tries the next
   * candidate), else wait and retry, throwing STATE_CONFLICT after lockWaitMs.
   */
  private async withLock<R>(docId: string, wait: boolean, fn: () => Promise<R | null>): Promise<R | null> {
    const lockId = `${this.col.collectionName}:${docId}`;
    const until = Date.now() + this.lockWaitMs;
    let delay = 1;
    let token: string | null;
    for (;;) {
      token = await this.tryLock(lockId);
      if (token) break;
      if (!wait) return null;
      if (Date.now() > until) {
        // Not "lost the race": we could not even look. Callers treat it as a failed write and retry.
        throw new DeferflowError('STATE_CONFLICT', `Could not lock ${lockId} within ${this.lockWaitMs} ms (another writer holds it)`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 20);
    }
    try {
      return await fn();
    } finally {
      await this.locks.deleteOne({ _id: lockId, holder: token }).catch(() => undefined);
    }
  }

  /** The lock's token when taken, null when someone holds it. */
  private async tryLock(lockId: string): Promise<string | null> {
    const token = randomUUID();
    try {
      await this.locks.insertOne({ _id: lockId, holder: token, expires_at: new Date(Date.now() + this.lockTtlMs) });
      return token;
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
    }
    // Held by someone: take it over at once if its holder died (the lock expired) — on the first
    // busy encounter, so a process killed while holding a lock delays that document by lockTtlMs
    // at most, never by the luck of who looks. A live holder's lock is left alone.
    const current = await this.locks.findOne({ _id: lockId });
    if (current && current.expires_at.getTime() < Date.now()) {
      await this.locks.deleteOne({ _id: lockId, holder: current.holder, expires_at: current.expires_at });
      try {
        await this.locks.insertOne({ _id: lockId, holder: token, expires_at: new Date(Date.now() + this.lockTtlMs) });
        return token;
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
      }
    }
    return null;
  }
}
