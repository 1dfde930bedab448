/**
 * Issue 14 point 10: an event that arrives while its trigger is being claimed must not be lost.
 *
 * The window: a triggerer has claimed a trigger row but not yet subscribed the trigger when an
 * event for it arrives. The event is routed locally to nobody, then looked up in MongoDB; by the
 * time the lookup answers, the trigger is running here — so "held here, skip it" — and the event
 * was acknowledged having reached no trigger. Test hooks hold each side at the edge of the window
 * so the interleaving happens on every run instead of one in five.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventPatternTrigger } from '../../../src/triggers/event-pattern-trigger.ts';
import { PushEventSource } from '../../../triggerer/sources/push-event-source.ts';
import { TriggererHarness } from './triggerer-harness.ts';

let h: TriggererHarness;
beforeAll(async () => {
  h = await TriggererHarness.create('claim_window');
});
afterAll(async () => {
  await h?.close();
});

function signal(): { promise: Promise<void>; fire(): void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => (fire = r));
  return { promise, fire };
}

describe('triggerer: an event racing the claim of its trigger', () => {
  it('reaches the trigger when it is routed before the trigger runs here and looked up after', async () => {
    const src = new PushEventSource('claim-window');
    const routed = signal();
    let triggerId = '';
    const t = h.triggerer({
      eventSources: [src],
      hooks: {
        // The claim has written the row's owner; starting the trigger waits until the event passed the router.
        claimed: async () => routed.promise,
        // The event found no subscriber; its MongoDB lookup waits until the trigger runs here.
        routed: async (event) => {
          if (event.id !== 'paid-1') return;
          routed.fire();
          await h.waitFor('the trigger to run here', () => triggerId !== '' && t.holds(triggerId));
        },
      },
    });
    await t.start();
    const d = await h.deferTask(new EventPatternTrigger({ source: ['shop'], 'detail-type': ['Order Paid'] }));
    triggerId = d.trigger._id;
    await src.push({
      version: '0',
      id: 'paid-1',
      source: 'shop',
      'detail-type': 'Order Paid',
      account: '1',
      time: new Date().toISOString(),
      region: 'local',
      resources: [],
      detail: { order: 42 },
    });
    // Acknowledged only once a trigger consumed it and the resume is persisted.
    const ti = await h.ti(d.ti._id);
    expect(ti.state).toBe('scheduled');
    expect(JSON.parse(ti.trigger_event!)).toMatchObject({ id: 'paid-1', detail: { order: 42 } });
    await t.stop();
  });
});
