/**
 * What one single-document operation costs on the MongoDB-wire server as its collection grows:
 * the facts behind the other benchmarks (on FerretDB v1/SQLite, updates and deletes by `_id` and
 * every non-`_id` query scan the collection; inserts and finds by `_id` do not). 50 sequential
 * ops each, no concurrency. Prints ONE JSON object.
 *
 *   npx tsx bench/server-ops.ts [--sizes 100,1000,4000]
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
const sizesArg = process.argv.indexOf('--sizes');
const sizes = (sizesArg >= 0 ? process.argv[sizesArg + 1] : '100,1000,4000').split(',').map(Number);
const c = new MongoClient(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017');
await c.connect();
const info = (await c.db('admin').command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string };
const rows: unknown[] = [];
for (const N of sizes) {
  const db = c.db(`deferflow_bench_ops_${randomBytes(3).toString('hex')}`);
  const col = db.collection<{ _id: string; v: number; pad: string }>('x');
  await col.insertMany(Array.from({ length: N }, (_, i) => ({ _id: `d-${i}`, v: 0, pad: 'x'.repeat(400) })));
  let t0 = performance.now();
  for (let i = 0; i < 50; i++) await col.updateOne({ _id: `d-${i}` }, { $set: { v: 1 } });
  const upd = (performance.now() - t0) / 50;
  t0 = performance.now();
  for (let i = 0; i < 50; i++) await col.findOneAndUpdate({ _id: `d-${i}`, v: 1 }, { $set: { v: 2 } });
  const fam = (performance.now() - t0) / 50;
  t0 = performance.now();
  for (let i = 0; i < 50; i++) await col.findOne({ _id: `d-${i}` });
  const fnd = (performance.now() - t0) / 50;
  t0 = performance.now();
  for (let i = 0; i < 50; i++) await col.insertOne({ _id: `n-${i}`, v: 0, pad: '' });
  const ins = (performance.now() - t0) / 50;
  t0 = performance.now();
  for (let i = 0; i < 50; i++) await col.deleteOne({ _id: `n-${i}` });
  const del = (performance.now() - t0) / 50;
  t0 = performance.now();
  for (let i = 0; i < 10; i++) await col.find({ v: 99 }).toArray();
  const scan = (performance.now() - t0) / 10;
  rows.push({
    docs: N,
    updateOne_id_ms: +upd.toFixed(2),
    fAM_id_ms: +fam.toFixed(2),
    findOne_id_ms: +fnd.toFixed(2),
    insertOne_ms: +ins.toFixed(2),
    deleteOne_id_ms: +del.toFixed(2),
    scan_find_ms: +scan.toFixed(2),
  });
  await db.dropDatabase();
}
await c.close();
console.log(
  JSON.stringify({
    bench: 'server-ops',
    server: info.ferretdbVersion ? `FerretDB (ferretdbVersion ${info.ferretdbVersion}, wire ${info.version})` : `MongoDB ${info.version}`,
    doc_bytes: 420,
    results: rows,
  }),
);
