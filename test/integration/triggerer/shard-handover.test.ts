/**
 * Rebalancing when a triggerer joins (issue 10 point 4): the holder hands shards over; until the
 * new holder runs their triggers, the old one keeps running them. An event for a trigger of a
 * shard being handed over — arriving at either triggerer at that moment — is never acknowledged
 * before the task's resume is persisted, and no task is resumed twice.
 *
 * The kind used here can only be decided by the triggerer running it (no `fromEvent`), the
 * strictest case: an event reaching a triggerer that does not run it yet must be handed back. A
 * test hook holds the joining triggerer between taking the shards' leases and starting their
 * triggers, so every event below arrives inside the hand-over window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Observable } from 'rxjs';
import { z } from 'zod';
import { registerTriggerKind } from '../../../src/triggers/trigger-kind-registry.ts';
import { PushEventSource } from '../../../triggerer/sources/push-event-source.ts';
import type { EventBridgeEvent } from '../../../src/events/eventbridge-event.ts';
import { TriggererHarness, type Deferred } from './triggerer-harness.ts';

/** The generic routing key of the test's events (`source|detail-type`). */
const KEY = 'test.handover|Ping';

registerTriggerKind({
  kind: 'test.HolderOnly',
  schema: z.object({ name: z.string() }),
  routingKeys: () => [KEY],
  run: (kw, ctx) =>
    new Observable((sub) => {
      const events = ctx.eventsFor(KEY).subscribe((event) => {
        if ((event.detail as { name?: unknown }).name !== kw.name) return;
        sub.next({ payload: { fired_by: event.id } });
        sub.complete();
      });
      return () => events.unsubscribe();
    }),
});

/** An event for the trigger waiting on `name`. */
const eventFor = (name: string, id: string): EventBridgeEvent => ({
  version: '0',
  id,
  source: 'test.handover',
  'detail-type': 'Ping',
  account: '1',
  time: new Date().toISOString(),
  region: 'local',
  resources: [],
  detail: { name },
});

let h: TriggererHarness;
beforeAll(async () => {
  h = await TriggererHarness.create('shard_handover');
});
afterAll(async () => {
  await h?.close();
});

describe('shard hand-over to a joining triggerer', () => {
  it('never acknowledges an event before its resume, wherever it arrives during the hand-over, and resumes each task once', async () => {
    const srcA = new PushEventSource('a');
    const srcB = new PushEventSource('b');
    const a = h.triggerer({ id: 'hand-A', eventSources: [srcA] });
    await a.start();
    const ds: Deferred[] = [];
    for (let i = 0; i < 40; i++) ds.push(await h.deferTask({ kind: 'test.HolderOnly', kwargs: { name: `t${i}` } }));
    await h.waitFor('A runs all', () => ds.every((d) => a.holds(d.trigger._id)));

    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    const b = h.triggerer({ id: 'hand-B', eventSources: [srcB], hooks: { claimed: () => gate } });
    await b.start();
    // B's fair share is half the shards; A hands them over at its heartbeats. B stands still before
    // starting the triggers of any (a shard without triggers may start at once).
    await h.waitFor('A handed B its share', async () => (await h.store.triggerShards.countDocuments({ holder: 'hand-B' })) === 32);
    const handed = new Set((await h.store.triggerShards.find({ holder: 'hand-B' }).toArray()).map((s) => s.shard));
    const moving = ds.filter((d) => handed.has(d.trigger.shard!));
    expect(moving.length).toBeGreaterThan(0);
    // A still runs the triggers of the shards it handed over: B has not started them.
    expect(moving.every((d) => a.holds(d.trigger._id) && !b.holds(d.trigger._id))).toBe(true);

    // The kind routes by one generic key, so an event for one trigger is looked up against every
    // stored trigger under that key: while a trigger it cannot decide is held elsewhere, it must be
    // handed back. Settle the triggers that stay with A first (A runs them), so the events below
    // concern only the triggers whose shards move.
    const staying = ds.filter((d) => !moving.includes(d));
    for (const [i, d] of staying.entries()) await srcA.push(eventFor((JSON.parse(d.trigger.kwargs) as { name: string }).name, `s-${i}`));
    for (const d of staying) expect((await h.ti(d.ti._id)).state).toBe('scheduled');

    const resumes = new Map<string, number>();
    const sub = h.bus.changes$.subscribe((c) => {
      if (c.kind === 'task_instance' && c.previous === 'deferred' && c.ti.state === 'scheduled') resumes.set(c.ti._id, (resumes.get(c.ti._id) ?? 0) + 1);
    });
    // Events for moving triggers arrive at both triggerers while the hand-over is half done.
    const stateAtAck = moving.map(async (d, i) => {
      const src = i % 2 === 0 ? srcA : srcB;
      await src.push(eventFor((JSON.parse(d.trigger.kwargs) as { name: string }).name, `e-${i}`), { maxAttempts: 400 });
      return (await h.ti(d.ti._id)).state;
    });
    await new Promise((r) => setTimeout(r, 300));
    openGate();
    const states = await Promise.all(stateAtAck);
    sub.unsubscribe();
    expect(states.every((s) => s === 'scheduled')).toBe(true);
    for (const d of moving) {
      expect(resumes.get(d.ti._id)).toBe(1);
      expect((await h.ti(d.ti._id)).version).toBe(d.ti.version + 1);
    }
    // Every trigger fired once and is let go of on both sides.
    await h.waitFor('both let go', () => ds.every((d) => !a.holds(d.trigger._id) && !b.holds(d.trigger._id)));
    await a.stop();
    await b.stop();
  });
});
