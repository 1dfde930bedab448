/**
 * Routing keys of an incoming event: a specific key per resource it is about (SageMaker:
 * `sagemaker:training-job:<name>` …) plus the generic `source|detail-type` key that
 * EventPatternTrigger subscribes to. Triggers store the same keys (TriggerDoc.routing_keys), so
 * an event finds its triggers by Map lookup in memory or by index in MongoDB, never by scanning.
 */
import type { EventBridgeEvent } from './eventbridge-event.ts';
import { parseSageMakerEvent, sageMakerKey } from './sagemaker-job-types.ts';

/** Subscribed by triggers that must see every event (patterns without exact source/detail-type). */
export const WILDCARD_ROUTING_KEY = '*';

export type RoutingKeyExtractor = (event: EventBridgeEvent) => string[];

export function genericEventKey(source: string, detailType: string): string {
  return `${source}|${detailType}`;
}

const sageMakerExtractor: RoutingKeyExtractor = (event) => {
  const change = parseSageMakerEvent(event);
  return change ? [sageMakerKey(change.type, change.name)] : [];
};

/** Extractors by event source; embedding apps may add their own (`registerRoutingKeyExtractor`). */
const extractors = new Map<string, RoutingKeyExtractor[]>([['aws.sagemaker', [sageMakerExtractor]]]);

export function registerRoutingKeyExtractor(source: string, extractor: RoutingKeyExtractor): void {
  const list = extractors.get(source) ?? [];
  list.push(extractor);
  extractors.set(source, list);
}

/** Every key the event is routed under; specific keys first, then the generic key, then `*`. */
export function routingKeysOf(event: EventBridgeEvent): string[] {
  const keys: string[] = [];
  for (const ex of extractors.get(event.source) ?? []) {
    for (const k of ex(event)) keys.push(k);
  }
  keys.push(genericEventKey(event.source, event['detail-type']), WILDCARD_ROUTING_KEY);
  return keys;
}
