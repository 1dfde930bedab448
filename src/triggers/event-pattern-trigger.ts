/**
 * `deferflow.EventPatternTrigger`: fires on the first event (from any event source of the
 * triggerer) that matches an EventBridge event pattern; the payload is the whole event.
 *
 *   kwargs: { pattern: { source: ['my.app'], 'detail-type': ['Order Placed'], detail: { … } } }
 *
 * Routing: the pattern's exact `source` × `detail-type` values become routing keys
 * (`source|detail-type`), so only events of those types are matched against it. A pattern
 * without exact source and detail-type values subscribes to every event (key `*`): it works, but
 * costs one match per event — name both when you can.
 */
import { filter, map, merge, take } from 'rxjs';
import { z } from 'zod';
import { matchesEventPattern, validateEventPattern } from '../events/event-pattern.ts';
import { genericEventKey, WILDCARD_ROUTING_KEY } from '../events/routing-keys.ts';
import type { TriggerKind } from './trigger-kind.ts';
import type { SerializedTrigger, TriggerEvent } from './serialized-trigger.ts';

export const EVENT_PATTERN_TRIGGER_KIND = 'deferflow.EventPatternTrigger';

export const eventPatternKwargsSchema = z
  .object({
    pattern: z.record(z.string(), z.unknown()),
    description: z.string().optional(),
  })
  .superRefine((kw, ctx) => {
    const v = validateEventPattern(kw.pattern);
    if (!v.valid) ctx.addIssue({ code: 'custom', path: ['pattern'], message: v.reason });
  });
export type EventPatternKwargs = z.infer<typeof eventPatternKwargsSchema>;

function exactStrings(v: unknown): string[] | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  return v.every((x) => typeof x === 'string') ? (v as string[]) : null;
}

export function eventPatternRoutingKeys(pattern: Record<string, unknown>): string[] {
  const sources = exactStrings(pattern.source);
  const types = exactStrings(pattern['detail-type']);
  if (!sources || !types) return [WILDCARD_ROUTING_KEY];
  return sources.flatMap((s) => types.map((t) => genericEventKey(s, t)));
}

export const eventPatternTriggerKind: TriggerKind<EventPatternKwargs> = {
  kind: EVENT_PATTERN_TRIGGER_KIND,
  schema: eventPatternKwargsSchema,
  routingKeys: (kw) => eventPatternRoutingKeys(kw.pattern),
  fromEvent: (kw, event): TriggerEvent | null => (matchesEventPattern(kw.pattern, event) ? { payload: event } : null),
  run: (kw, ctx) =>
    merge(...eventPatternRoutingKeys(kw.pattern).map((k) => ctx.eventsFor(k))).pipe(
      filter((e) => matchesEventPattern(kw.pattern, e)),
      map((e): TriggerEvent => ({ payload: e })),
      take(1),
    ),
  describe: (kw) => kw.description ?? `event matching ${JSON.stringify(kw.pattern)}`,
};

export class EventPatternTrigger {
  constructor(
    readonly pattern: Record<string, unknown>,
    readonly description?: string,
  ) {
    const v = validateEventPattern(pattern);
    if (!v.valid) throw new TypeError(`EventPatternTrigger: ${v.reason}`);
  }

  serialize(): SerializedTrigger {
    return { kind: EVENT_PATTERN_TRIGGER_KIND, kwargs: { pattern: this.pattern, ...(this.description ? { description: this.description } : {}) } };
  }
}
