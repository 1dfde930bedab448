/**
 * Routing keys: how an incoming event finds the triggers waiting on it without a filter per
 * trigger. An event gets a specific key per resource it is about (a provider's extractor decides:
 * SageMaker gives `sagemaker:training-job:<name>` …), then the generic `source|detail-type` key
 * EventPatternTrigger subscribes to, then `*`. Triggers store the same keys
 * (TriggerDoc.routing_keys), so an event finds its triggers by Map lookup in memory or by index in
 * MongoDB, never by scanning.
 *
 * The extractors form an index built by the composition root from the deferral providers
 * (`RoutingKeyIndex`), passed to the triggerer — never a module-level registry.
 */
import type { EventBridgeEvent } from './eventbridge-event.ts';

/** Subscribed by triggers that must see every event (patterns without exact source/detail-type). */
export const WILDCARD_ROUTING_KEY = '*';

/**
 * The specific keys of an event from one event source. Event fields are untrusted: an extractor
 * returns no key rather than a wrong one when the event is not what it expects.
 */
export type RoutingKeyExtractor = (event: EventBridgeEvent) => string[];

export function genericEventKey(source: string, detailType: string): string {
  return `${source}|${detailType}`;
}

/** Whether a key names one resource (a provider's key), as opposed to the generic and `*` keys. */
export function isSpecificKey(key: string): boolean {
  return key !== WILDCARD_ROUTING_KEY && !key.includes('|');
}

export class RoutingKeyIndex {
  private readonly bySource = new Map<string, RoutingKeyExtractor[]>();

  constructor(extractors: Iterable<readonly [source: string, extractor: RoutingKeyExtractor]> = []) {
    for (const [source, ex] of extractors) {
      const list = this.bySource.get(source) ?? [];
      list.push(ex);
      this.bySource.set(source, list);
    }
  }

  /** Every key the event is routed under; specific keys first, then the generic key, then `*`. */
  keysOf(event: EventBridgeEvent): string[] {
    const keys: string[] = [];
    for (const ex of this.bySource.get(event.source) ?? []) {
      for (const k of ex(event)) if (!keys.includes(k)) keys.push(k);
    }
    keys.push(genericEventKey(event.source, event['detail-type']), WILDCARD_ROUTING_KEY);
    return keys;
  }
}
