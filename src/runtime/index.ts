/**
 * `deferflow/runtime`: embed deferflow in your own Node process — the `Runtime` (scheduler, worker
 * and triggerer in-process, or any subset), the events it reports, and the event sources that feed
 * triggers (any RxJS Observable, or an SQS queue fed by EventBridge). DAGs, operators and triggers
 * come from `deferflow`; the AWS provider from `deferflow/aws`.
 *
 *   import { Runtime, fromObservable } from 'deferflow/runtime';
 */
export { Runtime, type RuntimeOptions, type TriggerDagOptions } from './runtime.ts';
export type { RuntimeEvent, TaskInstanceEvent, DagRunEvent } from './runtime-event.ts';
export { fromObservable } from '../../triggerer/sources/from-observable.ts';
export { PushEventSource } from '../../triggerer/sources/push-event-source.ts';
export { SqsEventSource, type SqsEventSourceOptions } from '../../triggerer/sources/sqs-event-source.ts';
export type { EventSource, IncomingEvent } from '../../triggerer/sources/event-source.ts';
export type { EventBridgeEvent } from '../events/eventbridge-event.ts';
