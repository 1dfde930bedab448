/**
 * /api/v1/events streams state changes: from the in-process bus at once, and from other processes'
 * writes through the updated_at poller. Over a real socket (SSE is a stream; inject() would wait
 * for the end).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { Registry } from 'prom-client';
import { startWebserver, type RunningWebserver } from '../../src/api/server.ts';
import { StateChangeBus } from '../../src/store/state-change-bus.ts';
import type { LiveChange } from '../../src/api/live/live-changes.ts';
import type { Store } from '../../src/store/store.ts';
import type { DagDoc } from '../../src/store/schema.ts';
import { Driver, closeTestStore, openTestStore, seedDag } from './helpers.ts';

let store: Store;
let ws: RunningWebserver;
let dag: DagDoc;
const bus = new StateChangeBus();

beforeAll(async () => {
  store = await openTestStore('api_events');
  dag = await seedDag(store, 'etl', { a: ['b'], b: [] });
  ws = await startWebserver({ store, bus, port: 0, livePollMs: 100, metricsRegistry: new Registry() });
});
afterAll(async () => {
  await ws?.close();
  await closeTestStore(store);
});

/** Open the stream; collect parsed events; resolve `ready` on the hello event. */
function openStream(query = '') {
  const events: Array<{ event: string; data: LiveChange }> = [];
  let req!: http.ClientRequest;
  const ready = new Promise<void>((resolve, reject) => {
    req = http.get(`${ws.url}/api/v1/events${query}`, (res) => {
      expect(res.headers['content-type']).toContain('text/event-stream');
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'hello') resolve();
          else if (data) events.push({ event, data: JSON.parse(data) as LiveChange });
        }
      });
    });
    req.on('error', reject);
  });
  return { events, ready, close: () => req.destroy() };
}

async function waitFor<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SSE', () => {
  it('emits task instance changes made in-process (bus), filtered by dag_id', async () => {
    const s = openStream('?dag_id=etl');
    const other = openStream('?dag_id=not-this-one');
    await Promise.all([s.ready, other.ready]);
    const d = new Driver(store, bus);
    await d.createRun(dag, 'r1', new Date('2025-01-01T00:00:00Z'));
    await d.defer('etl', 'r1', 'a', 'job-1');
    const deferred = await waitFor(() => s.events.find((e) => e.data.kind === 'task_instance' && e.data.ti.task_id === 'a' && e.data.ti.state === 'deferred'));
    expect(deferred.event).toBe('task_instance');
    expect(s.events.some((e) => e.data.kind === 'dag_run' && e.data.run.dag_run_id === 'r1')).toBe(true);
    expect(other.events.filter((e) => e.data.kind !== 'trigger')).toEqual([]);
    s.close();
    other.close();
  });

  it("emits another process's change through the poller, once", async () => {
    const s = openStream();
    await s.ready;
    // No bus: like a triggerer in another process.
    const remote = new Driver(store);
    const trig = (await store.triggers.findOne({ task_id: 'a' }))!;
    await remote.tis.resumeFromTrigger(trig._id, { status: 'Completed' });
    const resumed = await waitFor(() => s.events.find((e) => e.data.kind === 'task_instance' && e.data.ti.task_id === 'a' && e.data.ti.state === 'scheduled'));
    expect(resumed.data.kind === 'task_instance' && resumed.data.ti.dag_run_id).toBe('r1');
    await new Promise((r) => setTimeout(r, 400)); // several more polls over the same window
    expect(s.events.filter((e) => e.data.kind === 'task_instance' && e.data.ti.task_id === 'a' && e.data.ti.state === 'scheduled')).toHaveLength(1);
    s.close();
  });
});
