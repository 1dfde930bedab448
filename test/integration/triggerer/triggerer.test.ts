import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NEVER, throwError } from 'rxjs';
import { z } from 'zod';
import { registerTriggerKind } from '../../../src/triggers/trigger-kind-registry.ts';
import { PushEventSource } from '../../../triggerer/sources/push-event-source.ts';
import { DateTimeTrigger } from '../../../src/triggers/date-time-trigger.ts';
import { TimeDeltaTrigger } from '../../../src/triggers/time-delta-trigger.ts';
import { EventPatternTrigger } from '../../../src/triggers/event-pattern-trigger.ts';
import { SageMakerJobTrigger } from '../../../src/providers/aws/deferral/sagemaker-job-trigger.ts';
import { TriggererHarness, trainingEvent, type Deferred } from './triggerer-harness.ts';

registerTriggerKind({ kind: 'test.Failing', schema: z.object({}), run: () => throwError(() => new Error('boom from trigger')) });
registerTriggerKind({ kind: 'test.Never', schema: z.object({}), run: () => NEVER });

const sm = (name: string) => new SageMakerJobTrigger({ job_type: 'training', job_name: name, check_on_start: false });

let h: TriggererHarness;
beforeAll(async () => {
  h = await TriggererHarness.create('triggerer');
});
afterEach(async () => {
  await h?.haltAll();
});
afterAll(async () => {
  await h?.close();
});

describe('triggerer: resume, fail, timeout', () => {
  it('resumes the task with the event payload once the terminal event arrives, acking only after it is persisted', async () => {
    const src = new PushEventSource('test');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const d = await h.deferTask(sm('job-ok'));
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    await src.push(trainingEvent('job-ok', 'InProgress'));
    expect((await h.ti(d.ti._id)).state).toBe('deferred');
    await src.push(trainingEvent('job-ok', 'Completed'));
    // push() resolves on ack, and ack comes only after the resume is in MongoDB.
    const ti = await h.ti(d.ti._id);
    expect(ti.state).toBe('scheduled');
    expect(ti.next_method).toBe('resume');
    expect(JSON.parse(ti.next_kwargs!)).toEqual({ step: 2 });
    expect(JSON.parse(ti.trigger_event!)).toEqual({ status: 'success', job_name: 'job-ok', message: 'Training job job-ok completed' });
    expect(ti.try_number).toBe(1);
    // The row goes with the next batched delete (the resume's second write; the ack waits only for the first).
    await h.waitFor('trigger row deleted', async () => (await h.trigger(d.trigger._id)) === null);
    expect(t.heldTriggers).toBe(0);
    await t.stop();
  });

  it('maps Failed and Stopped to Airflow-style payloads with the failure reason', async () => {
    const src = new PushEventSource('test');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const a = await h.deferTask(sm('job-bad'));
    const b = await h.deferTask(sm('job-stopped'));
    await h.waitFor('claim', () => t.holds(a.trigger._id) && t.holds(b.trigger._id));
    await src.push(trainingEvent('job-bad', 'Failed', { FailureReason: 'AlgorithmError: oops' }));
    await src.push(trainingEvent('job-stopped', 'Stopped'));
    expect(JSON.parse((await h.ti(a.ti._id)).trigger_event!)).toEqual({
      status: 'failed',
      job_name: 'job-bad',
      message: 'Training job job-bad ended Failed: AlgorithmError: oops',
    });
    expect(JSON.parse((await h.ti(b.ti._id)).trigger_event!)).toMatchObject({ status: 'stopped', job_name: 'job-stopped' });
    await t.stop();
  });

  it('fires DateTime and TimeDelta triggers with the moment as payload', async () => {
    const t = h.triggerer();
    await t.start();
    const moment = new Date(Date.now() + 150);
    const a = await h.deferTask(new DateTimeTrigger(moment));
    const b = await h.deferTask(new TimeDeltaTrigger(0.1));
    const ta = await h.waitForState(a.ti._id, 'scheduled');
    expect(JSON.parse(ta.trigger_event!)).toBe(moment.toISOString());
    const tb = await h.waitForState(b.ti._id, 'scheduled');
    expect(typeof JSON.parse(tb.trigger_event!)).toBe('string');
    expect(ta.next_method).toBe('resume');
    await t.stop();
  });

  it('resumes an EventPatternTrigger with the matching event (and ignores non-matching ones)', async () => {
    const src = new PushEventSource('app');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const d = await h.deferTask(new EventPatternTrigger({ source: ['my.app'], 'detail-type': ['Order'], detail: { status: ['paid'] } }));
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    const base = { version: '0', account: '1', time: new Date().toISOString(), region: 'us-east-1', resources: [] };
    await src.push({ ...base, id: 'e1', source: 'my.app', 'detail-type': 'Order', detail: { status: 'new' } });
    expect((await h.ti(d.ti._id)).state).toBe('deferred');
    await src.push({ ...base, id: 'e2', source: 'my.app', 'detail-type': 'Order', detail: { status: 'paid', id: 7 } });
    const ti = await h.ti(d.ti._id);
    expect(ti.state).toBe('scheduled');
    expect(JSON.parse(ti.trigger_event!)).toMatchObject({ id: 'e2', detail: { status: 'paid', id: 7 } });
    await t.stop();
  });

  it('a trigger that errors resumes the task into __fail__ (the triggerer survives)', async () => {
    const t = h.triggerer();
    await t.start();
    const d = await h.deferTask({ kind: 'test.Failing', kwargs: {} });
    const ti = await h.waitForState(d.ti._id, 'scheduled');
    expect(ti.next_method).toBe('__fail__');
    expect(JSON.parse(ti.trigger_event!).error).toContain('boom from trigger');
    expect(t.state).toBe('running');
    await t.stop();
  });

  it('an unknown kind or invalid kwargs resume into __fail__ with a message that says why', async () => {
    const t = h.triggerer();
    await t.start();
    const a = await h.deferTask({ kind: 'nope.Missing', kwargs: {} });
    const b = await h.deferTask({ kind: 'aws.SageMakerJobTrigger', kwargs: { job_type: 'juggling', job_name: 'x' } });
    const ta = await h.waitForState(a.ti._id, 'scheduled');
    expect(ta.next_method).toBe('__fail__');
    expect(JSON.parse(ta.trigger_event!).error).toMatch(/Unknown trigger kind 'nope.Missing'/);
    const tb = await h.waitForState(b.ti._id, 'scheduled');
    expect(tb.next_method).toBe('__fail__');
    expect(JSON.parse(tb.trigger_event!).error).toMatch(/Invalid kwargs.*job_type/);
    await h.waitFor('trigger row deleted', async () => (await h.trigger(a.trigger._id)) === null);
    await t.stop();
  });

  it('a trigger past its deadline fails with "Trigger timeout" (deadline stored, so a restart keeps it)', async () => {
    const t = h.triggerer();
    await t.start();
    const d = await h.deferTask({ kind: 'test.Never', kwargs: {} }, { deadline: new Date(Date.now() + 300) });
    const past = await h.deferTask(sm('never-ends'), { deadline: new Date(Date.now() - 1000) });
    const ti = await h.waitForState(d.ti._id, 'scheduled');
    expect(ti.next_method).toBe('__fail__');
    expect(JSON.parse(ti.trigger_event!)).toEqual({ error: 'Trigger timeout' });
    expect(JSON.parse((await h.waitForState(past.ti._id, 'scheduled')).trigger_event!)).toEqual({ error: 'Trigger timeout' });
    await t.stop();
  });
});

describe('triggerer: events at least once', () => {
  it('a duplicate event is a no-op and counted as duplicate', async () => {
    const src = new PushEventSource('dups');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const d = await h.deferTask(sm('job-dup'));
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    const before = (await h.metrics.eventsDuplicate.get()).values.find((v) => v.labels.source === 'dups')?.value ?? 0;
    await src.push(trainingEvent('job-dup', 'Completed'));
    const first = await h.ti(d.ti._id);
    await src.push(trainingEvent('job-dup', 'Completed'));
    const second = await h.ti(d.ti._id);
    expect(second.version).toBe(first.version);
    const after = (await h.metrics.eventsDuplicate.get()).values.find((v) => v.labels.source === 'dups')?.value ?? 0;
    expect(after - before).toBe(1);
    await t.stop();
  });

  it('a non-terminal event after the terminal one changes nothing (terminal wins)', async () => {
    const src = new PushEventSource('late');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const d = await h.deferTask(sm('job-late'));
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    await src.push(trainingEvent('job-late', 'Failed', { FailureReason: 'x' }));
    const first = await h.ti(d.ti._id);
    await src.push(trainingEvent('job-late', 'InProgress'));
    await src.push(trainingEvent('job-late', 'Completed'));
    const after = await h.ti(d.ti._id);
    expect(after.version).toBe(first.version);
    expect(JSON.parse(after.trigger_event!).status).toBe('failed');
    await t.stop();
  });

  it('a stale worker exit after the resume cannot overwrite the task', async () => {
    const src = new PushEventSource('stale');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const d = await h.deferTask(sm('job-stale'));
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    await src.push(trainingEvent('job-stale', 'Completed'));
    const stale = await h.tis.finish(d.ti, d.token, { state: 'failed', error: 'worker thought it crashed' }, { heldMs: 1 });
    expect(stale).toBeNull();
    expect((await h.ti(d.ti._id)).state).toBe('scheduled');
    await t.stop();
  });

  it('an event for a trigger held by another triggerer resumes it from MongoDB; the owner drops it', async () => {
    const srcB = new PushEventSource('shared-queue');
    const a = h.triggerer();
    const b = h.triggerer({ eventSources: [srcB] });
    await a.start();
    const d = await h.deferTask(sm('job-shared'));
    await h.waitFor('A claims', () => a.holds(d.trigger._id));
    await b.start();
    await srcB.push(trainingEvent('job-shared', 'Completed'));
    expect((await h.ti(d.ti._id)).state).toBe('scheduled');
    await h.waitFor('A drops the fired trigger', () => !a.holds(d.trigger._id));
    await a.stop();
    await b.stop();
  });
});

describe('triggerer: ownership', () => {
  it('deleting a trigger, or clearing its task, cancels it in the triggerer', async () => {
    const src = new PushEventSource('cancel');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const a = await h.deferTask(sm('job-del'));
    const b = await h.deferTask(sm('job-clear'));
    await h.waitFor('claim', () => t.holds(a.trigger._id) && t.holds(b.trigger._id));
    await h.triggers.delete(a.trigger._id);
    await h.tis.clear(b.ti._id, 1);
    await h.waitFor('cancel', () => !t.holds(a.trigger._id) && !t.holds(b.trigger._id));
    await h.waitFor('orphan row deleted', async () => (await h.trigger(b.trigger._id)) === null);
    await src.push(trainingEvent('job-del', 'Completed'));
    expect((await h.ti(a.ti._id)).state).toBe('deferred');
    expect((await h.ti(b.ti._id)).state).toBeNull();
    await t.stop();
  });

  it('adopts the triggers of a triggerer killed hard, never those of a live one, and resumes them all', async () => {
    const a = h.triggerer({ id: 'trig-A' });
    await a.start();
    const ds: Deferred[] = [];
    for (let i = 0; i < 12; i++) ds.push(await h.deferTask(sm(`job-adopt-${i}`)));
    await h.waitFor('A claims all', () => ds.every((d) => a.holds(d.trigger._id)));
    const src = new PushEventSource('b-src');
    const b = h.triggerer({ id: 'trig-B', eventSources: [src] });
    await b.start();
    // A is alive: B gets shards only as A hands them over (its fair share, half of them), never by
    // taking a live lease; once B runs a shard A lets go of it, so every trigger has one holder.
    await h.waitFor('B gets its share from A', async () => (await h.store.triggerShards.countDocuments({ holder: 'trig-B', started: true })) === 32);
    await h.waitFor('A lets go of what B runs', () => ds.every((d) => a.holds(d.trigger._id) !== b.holds(d.trigger._id)));
    expect(await h.store.triggerShards.countDocuments({ holder: 'trig-A' })).toBe(32);
    // A dies without releasing (no heartbeat; its leases still say A until they run out).
    await a.halt();
    await h.waitFor('B adopts all', () => ds.every((d) => b.holds(d.trigger._id)), 30_000);
    expect(await h.store.triggerShards.countDocuments({ holder: 'trig-B' })).toBe(64);
    for (let i = 0; i < 12; i++) await src.push(trainingEvent(`job-adopt-${i}`, 'Completed'));
    for (const d of ds) expect((await h.ti(d.ti._id)).state).toBe('scheduled');
    await b.stop();
  });

  it('two triggerers never both fire one trigger to effect', async () => {
    const a = h.triggerer({ id: 'race-A', claimBatch: 3 });
    const b = h.triggerer({ id: 'race-B', claimBatch: 3 });
    const resumes = new Map<string, number>();
    const sub = h.bus.changes$.subscribe((c) => {
      if (c.kind === 'task_instance' && c.previous === 'deferred' && c.ti.state === 'scheduled') resumes.set(c.ti._id, (resumes.get(c.ti._id) ?? 0) + 1);
    });
    await Promise.all([a.start(), b.start()]);
    const moment = new Date(Date.now() + 400);
    const ds: Deferred[] = [];
    for (let i = 0; i < 12; i++) ds.push(await h.deferTask(new DateTimeTrigger(moment)));
    for (const d of ds) await h.waitForState(d.ti._id, 'scheduled');
    // A resume reaches the bus after its write returns, which on FerretDB is one more round trip
    // (the per-document lock is released first) after the row reads `scheduled`: wait for the bus too.
    await h.waitFor('every resume on the bus', () => ds.every((d) => resumes.has(d.ti._id)));
    sub.unsubscribe();
    expect([...resumes.values()].every((n) => n === 1)).toBe(true);
    expect(resumes.size).toBe(12);
    for (const d of ds) expect((await h.ti(d.ti._id)).version).toBe(d.ti.version + 1);
    await a.stop();
    await b.stop();
  });

  it('stop() releases held triggers (never cancelling jobs) and ends the job row', async () => {
    const t = h.triggerer({ id: 'trig-stop' });
    await t.start();
    const d = await h.deferTask(sm('job-release'));
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    expect((await h.store.jobs.findOne({ _id: 'trig-stop' }))?.job_type).toBe('TriggererJob');
    await t.stop();
    expect(t.state).toBe('stopped');
    // Released: no shard is leased to it any more, so the trigger waits for the next triggerer.
    expect(await h.store.triggerShards.countDocuments({ holder: 'trig-stop' })).toBe(0);
    expect((await h.store.jobs.findOne({ _id: 'trig-stop' }))?.state).toBe('success');
    expect((await h.ti(d.ti._id)).state).toBe('deferred');
  });

  it('stop() lets a claim in flight end before it releases: a lease the claim was taking is never left to a stopped triggerer', async () => {
    const id = 'trig-stop-claim';
    const d = await h.deferTask({ kind: 'test.Never', kwargs: {} });
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    let leasing = 0;
    // The hook holds the first claim right before its lease write; a long drain timeout, so that
    // stop() cannot give up waiting while the test holds it.
    const t = h.triggerer({
      id,
      drainTimeoutMs: 120_000,
      hooks: {
        leasing: async () => {
          leasing++;
          await gate;
        },
      },
    });
    await t.start();
    await h.waitFor('a claim is about to lease a shard', () => leasing > 0);
    let stopped = false;
    const stopping = t.stop().then(() => {
      stopped = true;
    });
    // Unfixed, stop() releases (nothing yet), ends the job row and returns while the claim is held;
    // then the claim's lease write lands and the shard stays leased to a stopped triggerer.
    const jobEnded = async () => (await h.store.jobs.findOne({ _id: id }))?.state === 'success';
    await h.waitFor('stop() to end the job row while a claim is held (it must not)', jobEnded, 1_500).catch(() => undefined);
    expect(stopped).toBe(false);
    expect(await jobEnded()).toBe(false);
    openGate();
    await stopping;
    expect(t.state).toBe('stopped');
    expect(await h.store.triggerShards.countDocuments({ holder: id })).toBe(0);
    expect(await jobEnded()).toBe(true);
    expect((await h.ti(d.ti._id)).state).toBe('deferred');
  });
});

describe('listTriggers (for `deferflow triggers list`)', () => {
  it('lists trigger, task, what it waits on, age, owner (alive or not) and deadline', async () => {
    const { listTriggers } = await import('../../../triggerer/list-triggers.ts');
    const t = h.triggerer({ id: 'trig-list' });
    await t.start();
    const deadline = new Date(Date.now() + 60_000);
    const d = await h.deferTask(sm('job-listed'), { deadline });
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    // Earlier tests leave released triggers behind, which this triggerer claims too.
    const rows = (await listTriggers(h.store, { owner: 'trig-list' })).filter((r) => r.trigger_id === d.trigger._id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      trigger_id: d.trigger._id,
      kind: 'aws.SageMakerJobTrigger',
      dag_id: 'dag',
      task_id: 'wait',
      waits_on: 'SageMaker training job-listed',
      owner: 'trig-list',
      owner_alive: true,
      deadline,
    });
    expect(rows[0].age_ms).toBeGreaterThanOrEqual(0);
    await t.stop();
    expect((await listTriggers(h.store, { dagId: 'dag' })).find((r) => r.trigger_id === d.trigger._id)).toMatchObject({ owner: null, owner_alive: null });
  });
});
