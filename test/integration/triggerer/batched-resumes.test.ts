/**
 * Resumes under an event stream are written in batches (triggerer/resume-batches.ts). Whatever
 * the batching, a task resumes exactly once per deferral: events delivered twice, the same events
 * reaching a second process that resumes straight from MongoDB, and events that arrive while
 * their tasks are still mid-deferral (their batch loses; they are retried and land later) — on the
 * real server, counted on the state-change bus and in the rows.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import type { Subscription } from 'rxjs';
import { Store } from '../../../src/store/store.ts';
import { SageMakerJobTrigger } from '../../../src/providers/aws/deferral/sagemaker-job-trigger.ts';
import { serializeTrigger } from '../../../src/triggers/serialized-trigger.ts';
import { PushEventSource } from '../../../triggerer/sources/push-event-source.ts';
import { storedTriggersDispatcher } from '../../../triggerer/routing/event-dispatcher.ts';
import type { TaskInstanceDoc, TriggerDoc } from '../../../src/store/schema.ts';
import { MONGODB_URI, TriggererHarness, trainingEvent, type Deferred } from './triggerer-harness.ts';

let h: TriggererHarness;
let client: MongoClient;
/** The triggerer's own client, watched: which task-instance commands it sent. */
let store: Store;
const batchSizes: number[] = [];
/** Trigger ids whose status the triggerer's client wrote. */
const statusWrites: string[] = [];
const readIds = new Set<string>();
const resumes = new Map<string, number>();
let busSub: Subscription;

beforeAll(async () => {
  h = await TriggererHarness.create('batched_resumes');
  client = new MongoClient(MONGODB_URI, { monitorCommands: true });
  await client.connect();
  store = await Store.fromClient(client, h.store.db.databaseName);
  const reads = new Map<number, string[]>();
  client.on('commandStarted', (e) => {
    const cmd = e.command as { update?: string; updates?: unknown[]; find?: string; filter?: { _id?: { $in?: string[] } } };
    if (e.commandName === 'update' && cmd.update === 'task_instances') batchSizes.push(cmd.updates?.length ?? 0);
    if (e.commandName === 'update' && cmd.update === 'triggers') {
      for (const u of (cmd.updates ?? []) as Array<{ q: { _id?: string }; u: { $set?: Record<string, unknown> } }>) {
        if (u.u.$set && 'last_status' in u.u.$set && u.q._id) statusWrites.push(u.q._id);
      }
    }
    if (e.commandName === 'find' && cmd.find === 'task_instances' && cmd.filter?._id?.$in) reads.set(e.requestId, cmd.filter._id.$in);
  });
  client.on('commandSucceeded', (e) => {
    for (const id of reads.get(e.requestId) ?? []) readIds.add(id);
    reads.delete(e.requestId);
  });
  busSub = h.bus.changes$.subscribe((c) => {
    if (c.kind === 'task_instance' && c.previous === 'deferred' && c.ti.state === 'scheduled') resumes.set(c.ti._id, (resumes.get(c.ti._id) ?? 0) + 1);
  });
});

afterEach(async () => {
  await h.haltAll();
});

afterAll(async () => {
  busSub?.unsubscribe();
  await h?.close();
  await client?.close();
});

const job = (name: string) => new SageMakerJobTrigger({ job_type: 'training', job_name: name, check_on_start: false });

describe('triggerer: batched resumes', () => {
  it('a burst delivered twice, and to a second process resuming from MongoDB: every task resumes exactly once, in batches', async () => {
    const n = 40;
    const ds: Deferred[] = [];
    for (let i = 0; i < n; i++) ds.push(await h.deferTask(job(`burst-${i}`)));
    const src = new PushEventSource('burst');
    const t = h.triggerer({ store, eventSources: [src] });
    await t.start();
    await h.waitFor('every trigger held', () => ds.every((d) => t.holds(d.trigger._id)));
    // What a second process sees of the same events (a triggerer that lost the shard a moment ago,
    // or a Runtime without a triggerer): it resumes the stored triggers through their kind's fromEvent.
    const other = storedTriggersDispatcher({ store: h.store, tis: h.tis, triggers: h.triggers, deferral: h.deferral, logger: h.logger, metrics: h.metrics });
    batchSizes.length = 0;
    const settled: Array<Promise<unknown>> = [];
    for (const [i] of ds.entries()) {
      const e = trainingEvent(`burst-${i}`, 'Completed');
      settled.push(src.push(e), src.push(e), other.dispatch({ event: e, ack: () => Promise.resolve() }, 'other'));
    }
    await Promise.all(settled);

    for (const [i, d] of ds.entries()) {
      const row = await h.ti(d.ti._id);
      expect(row.state, d.ti._id).toBe('scheduled');
      expect(row.next_method).toBe('resume');
      expect(JSON.parse(row.trigger_event!)).toMatchObject({ status: 'success', job_name: `burst-${i}` });
      expect(resumes.get(d.ti._id), `${d.ti._id}: resumes emitted`).toBe(1);
    }
    const ids = ds.map((d) => d.trigger._id);
    await h.waitFor('the fired trigger rows deleted', async () => (await h.store.triggers.countDocuments({ _id: { $in: ids } })) === 0);
    // The burst decided in one turn: its resumes went out as batched writes, not one per task.
    expect(Math.max(0, ...batchSizes)).toBeGreaterThan(1);
  });

  it("stores a waiting trigger's job status, but not the status of the event that decides it (its row goes with the resume)", async () => {
    const d = await h.deferTask(job('status-job'));
    const src = new PushEventSource('status');
    const t = h.triggerer({ store, eventSources: [src] });
    await t.start();
    await h.waitFor('trigger held', () => t.holds(d.trigger._id));
    statusWrites.length = 0;
    await src.push(trainingEvent('status-job', 'InProgress', { SecondaryStatus: 'Training' }));
    await h.waitFor('the InProgress status on the row', async () => (await h.trigger(d.trigger._id))?.last_status === 'InProgress');
    expect(statusWrites).toEqual([d.trigger._id]);
    await src.push(trainingEvent('status-job', 'Completed'));
    expect((await h.ti(d.ti._id)).state).toBe('scheduled');
    await h.waitFor('the fired row deleted', async () => (await h.trigger(d.trigger._id)) === null);
    expect(statusWrites).toEqual([d.trigger._id]);
  });

  it('events that arrive while their tasks are mid-deferral lose their batch, are retried, and resume each task once when the deferral lands', async () => {
    const n = 12;
    const midway: Array<{ running: TaskInstanceDoc; doc: TriggerDoc }> = [];
    for (let i = 0; i < n; i++) {
      // Deferral step 1 (trigger row inserted) without step 2 (running → deferred), as a worker between the two.
      const runId = `mid_${i}`;
      const when = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
      const run = await h.runs.create({ dagId: 'dag', runId, runType: 'manual', logicalDate: when, dataInterval: { start: when, end: when } });
      await h.tis.createForRun(run, [{ task_id: 'wait', operator: 'TestOperator', queue: 'default', priority_weight: 1, retries: 1 }]);
      const tiId = `dag|${runId}|wait`;
      await h.tis.schedule(tiId);
      await h.tis.queue(tiId);
      const running = await h.tis.claim({ workerId: 'worker-1', hostname: 'test', pid: 1, leaseMs: 60_000 });
      if (running?._id !== tiId) throw new Error(`expected to claim ${tiId}, got ${running?._id}`);
      const trigger = serializeTrigger(job(`mid-${i}`));
      const meta = h.deferral.triggerKinds.storageMetadata(trigger);
      const doc = await h.triggers.create({ trigger, deadline: null, ti: running, routingKeys: meta.routingKeys, description: meta.description });
      midway.push({ running, doc });
    }
    const src = new PushEventSource('midway');
    const t = h.triggerer({ store, eventSources: [src] });
    await t.start();
    await h.waitFor('every trigger held', () => midway.every((m) => t.holds(m.doc._id)));
    readIds.clear();
    const acked = midway.map((_, i) => src.push(trainingEvent(`mid-${i}`, 'Completed')));
    // The batch read saw every task still running: those resumes lost and wait for a retry.
    await h.waitFor('the resumes tried while mid-deferral', () => midway.every((m) => readIds.has(m.running._id)));
    for (const m of midway) expect((await h.ti(m.running._id)).state).toBe('running');
    for (const m of midway) {
      const deferred = await h.tis.defer(
        m.running,
        m.running.lease_token!,
        { triggerId: m.doc._id, nextMethod: 'resume', nextKwargs: {}, triggerTimeout: null },
        { heldMs: 5 },
      );
      expect(deferred?.state).toBe('deferred');
    }
    await Promise.all(acked);
    for (const [i, m] of midway.entries()) {
      const row = await h.ti(m.running._id);
      expect(row.state, m.running._id).toBe('scheduled');
      expect(JSON.parse(row.trigger_event!)).toMatchObject({ status: 'success', job_name: `mid-${i}` });
      expect(resumes.get(m.running._id), `${m.running._id}: resumes emitted`).toBe(1);
    }
  });
});
