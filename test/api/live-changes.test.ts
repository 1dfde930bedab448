/** The live feed's poller: keyset paging through bursts, dedupe by version, no roll-back. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveChanges, pageSince, type LiveChange } from '../../src/api/live/live-changes.ts';
import type { Store } from '../../src/store/store.ts';
import { Driver, closeTestStore, openTestStore, seedDag } from './helpers.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('api_live');
});
afterAll(async () => closeTestStore(store));

describe('pageSince', () => {
  it('reads a burst larger than a page to its end, including ties on updated_at', async () => {
    const col = store.db.collection<{ _id: string; updated_at: Date }>('paging_probe');
    const t0 = new Date('2025-01-01T00:00:00.000Z');
    const same = new Date(t0.getTime() + 5);
    const docs = Array.from({ length: 10 }, (_, i) => ({
      _id: `d${String(i).padStart(2, '0')}`,
      updated_at: i >= 3 && i < 8 ? same : new Date(t0.getTime() + i),
    }));
    await col.insertMany(docs);
    const all = await pageSince(col, t0, 3, 10);
    expect(all.map((d) => d._id).sort()).toEqual(docs.map((d) => d._id));
    expect(new Set(all.map((d) => d._id)).size).toBe(10);
    expect(await pageSince(col, t0, 3, 2)).toHaveLength(6);
  });
});

describe('LiveChanges', () => {
  it('forwards each task instance version once and never an older one', async () => {
    const d = new Driver(store);
    const dag = await seedDag(store, 'live', { a: [] });
    const live = new LiveChanges(store, undefined, { pollMs: 50 });
    const changes: LiveChange[] = [];
    const sub = live.changes$.subscribe((c) => changes.push(c));
    await d.createRun(dag, 'r1', new Date('2025-01-01T00:00:00Z'));
    await d.start('live', 'r1', 'a');
    // The poller may coalesce intermediate versions; wait for the last one.
    const end = Date.now() + 10_000;
    while (!changes.some((c) => c.kind === 'task_instance' && c.ti.state === 'running') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200)); // a few more polls over the same window
    sub.unsubscribe();
    const tis = changes.filter((c) => c.kind === 'task_instance');
    const versions = tis.map((c) => (c.kind === 'task_instance' ? c.ti.version : -1));
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(changes.some((c) => c.kind === 'dag_run')).toBe(true);
    expect(tis.filter((c) => c.kind === 'task_instance' && c.ti.state === 'running')).toHaveLength(1);
  });
});
