/**
 * The held-trigger state machine on its own: which edges it takes, that the first decision wins,
 * what an event's acknowledgement waits for, and that its one teardown settles everything. The
 * host stores outcomes in memory (the triggerer's integration tests store them in MongoDB).
 */
import { describe, expect, it } from 'vitest';
import { NEVER, Observable, Subject, Subscription, throwError } from 'rxjs';
import { z } from 'zod';
import pino from 'pino';
import type { TriggerDoc } from '../../../src/store/schema.ts';
import { TriggerKindRegistry } from '../../../src/triggers/trigger-kind-registry.ts';
import type { EventBridgeEvent } from '../../../src/events/eventbridge-event.ts';
import { HeldTrigger, HELD_TRIGGER_EDGES, type HeldTriggerHost, type HeldTriggerState } from '../../../triggerer/held-trigger.ts';
import type { PersistResult, TriggerOutcome } from '../../../triggerer/outcome.ts';
import { Delivery } from '../../../triggerer/routing/delivery.ts';
import { EventRouter } from '../../../triggerer/routing/event-router.ts';
import { TimerHeap } from '../../../triggerer/timer-heap.ts';
import { RunContext } from '../../../triggerer/trigger-run-context.ts';

const event = (id: string): EventBridgeEvent => ({
  version: '0',
  id,
  source: 'test',
  'detail-type': 'Ping',
  account: '1',
  time: '2025-01-01T00:00:00Z',
  region: 'r',
  resources: [],
  detail: {},
});

/** Emits on the first event; holds it first when `hold`, and emits only when `release$` fires. */
const kinds = new TriggerKindRegistry([]);
const later$ = new Subject<void>();
kinds.register({
  kind: 'test.OnPing',
  schema: z.object({ hold: z.boolean() }),
  run: (kw, ctx) =>
    new Observable<{ payload: unknown }>((sub) => {
      const waits = new Subscription();
      waits.add(
        ctx.deliveriesFor('test|Ping').subscribe(({ event: e, delivery }) => {
          if (!kw.hold) return sub.next({ payload: e.id });
          delivery.hold();
          waits.add(later$.subscribe(() => sub.next({ payload: e.id })));
        }),
      );
      return waits;
    }),
});
kinds.register({ kind: 'test.Never', schema: z.object({}), run: () => NEVER });
kinds.register({ kind: 'test.Boom', schema: z.object({}), run: () => throwError(() => new Error('boom')) });

function setup(persistWith: () => Promise<PersistResult> = async () => ({ result: 'stale' })) {
  const router = new EventRouter();
  const timers = new TimerHeap();
  const states: HeldTriggerState[] = [];
  const stored: TriggerOutcome[] = [];
  const logger = pino({ level: 'silent' });
  const host: HeldTriggerHost = {
    kinds,
    timers,
    logger,
    runContext: (h, doc) => new RunContext({ logger, router, timers, services: {} }, h, doc.deadline, doc.created_at),
    persist: (_h, outcome) => {
      stored.push(outcome);
      return persistWith();
    },
    deleteRow: async () => undefined,
    track: () => undefined,
    stored: () => undefined,
    entered: (_h, s) => void states.push(s),
  };
  const hold = (kind: string, kwargs: Record<string, unknown> = {}, deadline: Date | null = null): HeldTrigger => {
    const doc: TriggerDoc = {
      _id: `t-${kind}`,
      kind,
      kwargs: JSON.stringify(kwargs),
      created_at: new Date(),
      deadline,
      triggerer_id: 'me',
      claimed_at: new Date(),
      task_instance_id: 'ti',
      dag_id: 'd',
      run_id: 'r',
      task_id: 't',
      routing_keys: ['test|Ping'],
      description: null,
    };
    return new HeldTrigger(host, doc);
  };
  const route = (id: string): Delivery => {
    const d = new Delivery(event(id), 0);
    router.route(event(id), ['test|Ping'], d);
    return d;
  };
  return { hold, route, states, stored, router, timers };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('held trigger state machine', () => {
  it('every state can be dropped (one teardown), and dropped is final', () => {
    for (const [from, to] of Object.entries(HELD_TRIGGER_EDGES)) {
      if (from === 'dropped') expect(to).toEqual([]);
      else expect(to).toContain('dropped');
    }
  });

  it('claimed → running → persisting → dropped when an event decides it; the ack waits for the stored outcome', async () => {
    let store!: (r: PersistResult) => void;
    const s = setup(() => new Promise((r) => (store = r)));
    const h = s.hold('test.OnPing', { hold: false });
    h.start();
    expect(h.state).toBe('running');
    const d = s.route('e1');
    expect(h.state).toBe('persisting');
    expect(s.router.size).toBe(0); // no longer waiting: unsubscribed at once
    let acked: boolean | null = null;
    void d.settled().then((ok) => (acked = ok));
    await tick();
    expect(acked).toBeNull();
    store({ result: 'stale' });
    await tick();
    expect(acked).toBe(true);
    expect(s.states).toEqual(['running', 'persisting', 'dropped']);
    expect(s.stored).toEqual([{ type: 'event', payload: 'e1' }]);
  });

  it('a trigger that holds an event decides later: the ack waits for that outcome', async () => {
    const s = setup();
    const h = s.hold('test.OnPing', { hold: true });
    h.start();
    const d = s.route('e1');
    expect(h.state).toBe('running');
    expect(d.enlisted).toBe(true);
    later$.next();
    expect(await d.settled()).toBe(true);
    expect(s.stored).toEqual([{ type: 'event', payload: 'e1' }]);
    expect(h.state).toBe('dropped');
  });

  it('dropping a trigger that held an event hands the event back (its ack fails)', async () => {
    const s = setup();
    const h = s.hold('test.OnPing', { hold: true });
    h.start();
    const d = s.route('e1');
    h.drop('triggerer stopping');
    expect(await d.settled()).toBe(false);
    expect(s.stored).toEqual([]);
  });

  it('the first decision wins; later events and the deadline change nothing', async () => {
    const s = setup(() => new Promise(() => undefined));
    const h = s.hold('test.OnPing', { hold: false }, new Date(Date.now() + 5));
    h.start();
    s.route('e1');
    s.route('e2');
    h.decide({ type: 'failure', error: 'late' }, 'failure');
    await new Promise((r) => setTimeout(r, 20));
    expect(s.stored).toEqual([{ type: 'event', payload: 'e1' }]);
    expect(h.state).toBe('persisting');
  });

  it('a task still mid-deferral parks the outcome in pending-retry; retry stores it', async () => {
    const results: PersistResult[] = [{ result: 'not-deferred-yet' }, { result: 'stale' }];
    const s = setup(async () => results.shift()!);
    const h = s.hold('test.Boom');
    h.start();
    await tick();
    expect(h.state).toBe('pending-retry');
    await h.retry();
    expect(h.state).toBe('dropped');
    expect(s.stored.map((o) => o.type)).toEqual(['failure', 'failure']);
    expect(s.states).toEqual(['running', 'persisting', 'pending-retry', 'persisting', 'dropped']);
  });

  it('cannot start → decides a failure without running: unknown kind, bad kwargs, deadline passed', () => {
    const s = setup(() => new Promise(() => undefined));
    s.hold('nope').start();
    s.hold('test.OnPing', { hold: 'yes' }).start();
    s.hold('test.Never', {}, new Date(Date.now() - 1)).start();
    expect(s.stored).toEqual([
      { type: 'failure', error: expect.stringMatching(/Unknown trigger kind 'nope'/) },
      { type: 'failure', error: expect.stringMatching(/Invalid kwargs for trigger kind 'test.OnPing': hold/) },
      { type: 'failure', error: 'Trigger timeout', kind: 'trigger_timeout' },
    ]);
  });

  it('an orphan stops waiting and is dropped once its row is deleted', async () => {
    const s = setup();
    const h = s.hold('test.Never');
    h.start();
    h.orphan();
    expect(h.state).toBe('deleting');
    await tick();
    expect(h.state).toBe('dropped');
    expect(s.states).toEqual(['running', 'deleting', 'dropped']);
  });
});
