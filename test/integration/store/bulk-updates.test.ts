/**
 * Multi-statement updates (bulkWriteUpdates) complete on every server we support. FerretDB v1
 * holds a connection per matching statement until its `update` command ends and has 100 per
 * database, so one command of 100 statements — or two triggerers upserting the 64 shard rows at
 * once — hung the database for good (issue 10). In the conformance list, so these run on FerretDB
 * too; the last test checks the command shapes with the FerretDB path forced on any server.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../../src/store/store.ts';
import { TRIGGER_SHARD_COUNT } from '../../../src/store/schema.ts';
import { bulkWriteUpdates } from '../../../src/store/transitions/atomic-updater.ts';
import { isDuplicateKey } from '../../../src/store/transitions/duplicate-key.ts';
import { TriggerShardLeases } from '../../../src/store/transitions/trigger-shard-leases.ts';

const MONGODB_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';

let client: MongoClient;
let store: Store;
const commands: CommandStartedEvent[] = [];

beforeAll(async () => {
  client = new MongoClient(MONGODB_URI, { monitorCommands: true, serverSelectionTimeoutMS: 10_000 });
  client.on('commandStarted', (e) => commands.push(e));
  await client.connect();
  store = await Store.fromClient(client, `deferflow_test_bulk_updates_${randomBytes(4).toString('hex')}`);
});
afterAll(async () => {
  await store?.dropDatabase();
  await client?.close();
});

/** The write, or a failure naming what hung — a hung FerretDB database never answers again, so waiting longer proves nothing. */
async function completes<T>(what: string, p: Promise<T>, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms (the server hung on it)`)), ms);
  });
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('bulkWriteUpdates', () => {
  it('one batch of 150 updates that each match a row completes and applies them all', async () => {
    const col = store.db.collection<{ _id: string; n: number }>('bulk_rows');
    await col.insertMany(Array.from({ length: 150 }, (_, i) => ({ _id: `r${i}`, n: 0 })));
    const ops = Array.from({ length: 150 }, (_, i) => ({ updateOne: { filter: { _id: `r${i}` }, update: { $inc: { n: 1 } } } }));
    const r = await completes('a 150-statement update', bulkWriteUpdates(store.db, col, ops, { ordered: false }));
    expect(r.matchedCount).toBe(150);
    expect(await col.countDocuments({ n: 1 })).toBe(150);
  });

  it('four triggerers starting at once upsert the existing shard rows and renew all 64 leases with counts', async () => {
    const leases = new TriggerShardLeases(store);
    await leases.ensureRows();
    // What two (here four) triggerers starting together send: 64 upserts each, every one matching.
    await completes('concurrent ensureRows', Promise.all([leases.ensureRows(), leases.ensureRows(), leases.ensureRows(), leases.ensureRows()]));
    expect(await store.triggerShards.countDocuments()).toBe(TRIGGER_SHARD_COUNT);
    const shards = Array.from({ length: TRIGGER_SHARD_COUNT }, (_, s) => s);
    for (const s of shards) expect(await leases.acquire(s, 'holder-1', 60_000)).not.toBeNull();
    const counts = new Map(shards.map((s) => [s, s % 3] as const));
    await completes(
      'a renewal of 64 leases with counts, beside a starting triggerer',
      Promise.all([leases.renew('holder-1', shards, 60_000, counts), leases.ensureRows()]),
    );
    const rows = await store.triggerShards.find({}).toArray();
    expect(rows.every((r) => r.holder === 'holder-1' && r.triggers === r.shard % 3 && r.expires_at.getTime() > Date.now() + 30_000)).toBe(true);
  });

  it('unordered: a duplicate key in one statement leaves the others written and is what is thrown', async () => {
    const col = store.db.collection<{ _id: string; k: number }>('bulk_unique');
    await col.createIndex({ k: 1 }, { unique: true });
    const ops = [
      { updateOne: { filter: { _id: 'a' }, update: { $set: { k: 1 } }, upsert: true } },
      { updateOne: { filter: { _id: 'b' }, update: { $set: { k: 1 } }, upsert: true } },
      { updateOne: { filter: { _id: 'c' }, update: { $set: { k: 2 } }, upsert: true } },
    ];
    const err = await bulkWriteUpdates(store.db, col, ops, { ordered: false }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isDuplicateKey(err)).toBe(true);
    expect((await col.find({}).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual(['a', 'c']);
  });

  it('where per-document locks are needed (FerretDB; forced here), no update command carries more than one statement', async () => {
    const forcedBefore = process.env.DEFERFLOW_DOC_LOCKS;
    process.env.DEFERFLOW_DOC_LOCKS = '1';
    try {
      const col = store.db.collection<{ _id: string; n: number }>('bulk_forced');
      await col.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: `f${i}`, n: 0 })));
      commands.length = 0;
      const r = await bulkWriteUpdates(
        store.db,
        col,
        Array.from({ length: 10 }, (_, i) => ({ updateOne: { filter: { _id: `f${i}` }, update: { $inc: { n: 1 } } } })),
        { ordered: false },
      );
      expect(r.matchedCount).toBe(10);
      const updates = commands.filter((c) => c.commandName === 'update' && c.command.update === 'bulk_forced');
      expect(updates).toHaveLength(10);
      expect(updates.every((c) => (c.command.updates as unknown[]).length === 1)).toBe(true);
    } finally {
      if (forcedBefore === undefined) delete process.env.DEFERFLOW_DOC_LOCKS;
      else process.env.DEFERFLOW_DOC_LOCKS = forcedBefore;
    }
  });
});
