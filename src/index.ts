/**
 * deferflow's public API for DAG authors and embedding applications:
 *   import { DAG, task, chain } from 'deferflow';
 *   import { SageMakerTrainingOperatorAsync } from 'deferflow/aws';
 *   import { Runtime, fromObservable } from 'deferflow/runtime';
 */
export * from './dag/index.ts';
export * from './errors/index.ts';
export type { SerializedTrigger, TriggerEvent, TriggerLike } from './triggers/serialized-trigger.ts';
export type { TriggerKind, TriggerRunContext, RoutedEvent, EventDelivery } from './triggers/trigger-kind.ts';
export { anyTriggerKind } from './triggers/trigger-kind.ts';
export type { DeferralProvider, Reconciler, ReconcilerHost } from './triggers/deferral-provider.ts';
export type { RoutingKeyExtractor } from './events/routing-keys.ts';
export type { Services } from './services/services.ts';
export { registerTriggerKind } from './triggers/trigger-kind-registry.ts';
export { DateTimeTrigger } from './triggers/date-time-trigger.ts';
export { TimeDeltaTrigger } from './triggers/time-delta-trigger.ts';
export { EventPatternTrigger } from './triggers/event-pattern-trigger.ts';
export type { EventBridgeEvent } from './events/eventbridge-event.ts';
