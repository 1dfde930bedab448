/**
 * "Acknowledge only after the resume is persisted" must hold also for triggers that emit
 * asynchronously after the event arrives (the SageMaker trigger with print_log waits for its log
 * copy first). Such a trigger holds the delivery it was handed (`delivery.hold()`); the event's ack
 * then waits for the resume, and a trigger dropped before it fires leaves the event unacknowledged
 * for redelivery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Observable } from 'rxjs';
import { z } from 'zod';
import { registerTriggerKind } from '../../../src/triggers/trigger-kind-registry.ts';
import { PushEventSource } from '../../../triggerer/sources/push-event-source.ts';
import { sageMakerKey } from '../../../src/providers/aws/deferral/sagemaker-events.ts';
import type { EventBridgeEvent } from '../../../src/events/eventbridge-event.ts';
import { TriggererHarness, trainingEvent } from './triggerer-harness.ts';

/** Emits `delayMs` after the first routed event, having held the delivery (like print_log). */
registerTriggerKind({
  kind: 'test.SlowEmit',
  schema: z.object({ job: z.string(), delayMs: z.number(), hold: z.boolean() }),
  routingKeys: (kw) => [sageMakerKey('training', kw.job)],
  run: (kw, ctx) =>
    new Observable((sub) => {
      let timer: NodeJS.Timeout | undefined;
      const events = ctx.deliveriesFor(sageMakerKey('training', kw.job)).subscribe(({ delivery }) => {
        if (timer) return;
        if (kw.hold) delivery.hold();
        timer = setTimeout(() => {
          sub.next({ payload: { emitted_after_ms: kw.delayMs } });
          sub.complete();
        }, kw.delayMs);
      });
      return () => {
        events.unsubscribe();
        if (timer) clearTimeout(timer);
      };
    }),
});

let h: TriggererHarness;
beforeAll(async () => {
  h = await TriggererHarness.create('hold_delivery');
});
afterAll(async () => {
  await h?.close();
});

/** push() resolves when the consumer acks; report the TI state seen at that very moment. */
async function stateAtAck(src: PushEventSource, event: EventBridgeEvent, tiId: string): Promise<string | null> {
  await src.push(event);
  return (await h.ti(tiId)).state;
}

describe('triggerer: acknowledging events of asynchronously-emitting triggers', () => {
  it('acks only after the delayed resume is persisted when the trigger holds the delivery', async () => {
    const src = new PushEventSource('hold');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const d = await h.deferTask({ kind: 'test.SlowEmit', kwargs: { job: 'slow-held', delayMs: 300, hold: true } });
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    expect(await stateAtAck(src, trainingEvent('slow-held', 'Completed'), d.ti._id)).toBe('scheduled');
    await t.stop();
  });

  it('without the hold the same trigger is acked before its resume exists (why the hold is needed)', async () => {
    const src = new PushEventSource('nohold');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const d = await h.deferTask({ kind: 'test.SlowEmit', kwargs: { job: 'slow-free', delayMs: 300, hold: false } });
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    expect(await stateAtAck(src, trainingEvent('slow-free', 'Completed'), d.ti._id)).toBe('deferred');
    await h.waitFor('resume', async () => (await h.ti(d.ti._id)).state === 'scheduled');
    await t.stop();
  });

  it('leaves the event unacknowledged when the trigger is dropped before it fires', async () => {
    let acked = false;
    let nacked = false;
    const src = new PushEventSource('dropped');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const d = await h.deferTask({ kind: 'test.SlowEmit', kwargs: { job: 'slow-dropped', delayMs: 60_000, hold: true } });
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    // Deliver with our own ack/nack spies, then stop the triggerer (releases → drops the trigger).
    (src as unknown as { subject: { next(v: unknown): void } }).subject.next({
      event: trainingEvent('slow-dropped', 'Completed'),
      ack: async () => {
        acked = true;
      },
      nack: () => {
        nacked = true;
      },
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(acked).toBe(false);
    await t.stop();
    await h.waitFor('nack', () => nacked || acked);
    expect(acked).toBe(false);
    expect(nacked).toBe(true);
    expect((await h.ti(d.ti._id)).state).toBe('deferred');
  });
});
