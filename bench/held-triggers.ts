/**
 * Triggers held exactly as the triggerer holds them — a HeldTrigger state machine per trigger, its
 * RunContext, one router and one timer heap — without MongoDB: a decided outcome is reported to
 * `onDecided` instead of being stored. Shared by the benches that measure what holding and waking
 * N triggers costs in memory and time. Not a bench itself.
 */
import type { Logger } from 'pino';
import type { Services } from '../src/services/services.ts';
import type { TriggerDoc } from '../src/store/schema.ts';
import { composeDeferral } from '../src/triggers/deferral-provider.ts';
import type { TriggerKindRegistry } from '../src/triggers/trigger-kind-registry.ts';
import type { TriggerOutcome } from '../triggerer/outcome.ts';
import { HeldTrigger, type HeldTriggerHost } from '../triggerer/held-trigger.ts';
import type { EventRouter } from '../triggerer/routing/event-router.ts';
import type { TimerHeap } from '../triggerer/timer-heap.ts';
import { RunContext } from '../triggerer/trigger-run-context.ts';

export interface BenchHolder {
  /** Start a trigger of `kind` with `kwargs` (id `id`), as a claim would. */
  hold(id: string, kind: string, kwargs: Record<string, unknown>, deadline?: Date | null): HeldTrigger;
}

export function benchHolder(o: {
  router: EventRouter;
  timers: TimerHeap;
  services: Services;
  logger: Logger;
  kinds?: TriggerKindRegistry;
  onDecided(id: string, outcome: TriggerOutcome): void;
}): BenchHolder {
  const runHost = { logger: o.logger, router: o.router, timers: o.timers, services: o.services };
  const host: HeldTriggerHost = {
    kinds: o.kinds ?? composeDeferral().triggerKinds,
    timers: o.timers,
    logger: o.logger,
    runContext: (h, doc) => new RunContext(runHost, h, doc.deadline, doc.created_at),
    persist: (h, outcome) => {
      o.onDecided(h.id, outcome);
      return Promise.resolve({ result: 'stale' as const });
    },
    deleteRow: () => Promise.resolve(),
    track: () => undefined,
    stored: () => undefined,
    entered: () => undefined,
  };
  return {
    hold(id, kind, kwargs, deadline = null) {
      const now = new Date();
      const doc: TriggerDoc = {
        _id: id,
        kind,
        kwargs: JSON.stringify(kwargs),
        created_at: now,
        deadline,
        triggerer_id: 'bench',
        claimed_at: now,
        task_instance_id: `bench|run|${id}`,
        dag_id: 'bench',
        run_id: 'run',
        task_id: id,
        routing_keys: [],
        description: null,
      };
      const h = new HeldTrigger(host, doc);
      h.start();
      return h;
    },
  };
}
