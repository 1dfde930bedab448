/**
 * Registers deferflow's built-in trigger kinds. Imported by the triggerer (and by anything that
 * defers to them, so `triggerStorageMetadata` can compute routing keys at defer time).
 */
import { registerTriggerKind } from './registry.ts';
import { dateTimeTriggerKind } from './date-time-trigger.ts';
import { timeDeltaTriggerKind } from './time-delta-trigger.ts';
import { eventPatternTriggerKind } from './event-pattern-trigger.ts';
import { sageMakerJobTriggerKind } from './sagemaker-job-trigger.ts';

registerTriggerKind(dateTimeTriggerKind);
registerTriggerKind(timeDeltaTriggerKind);
registerTriggerKind(eventPatternTriggerKind);
registerTriggerKind(sageMakerJobTriggerKind);

export { DateTimeTrigger, DATE_TIME_TRIGGER_KIND } from './date-time-trigger.ts';
export { TimeDeltaTrigger, TIME_DELTA_TRIGGER_KIND } from './time-delta-trigger.ts';
export { EventPatternTrigger, EVENT_PATTERN_TRIGGER_KIND } from './event-pattern-trigger.ts';
export { SageMakerJobTrigger, SAGEMAKER_JOB_TRIGGER_KIND, type SageMakerJobKwargs, type SageMakerJobPayload } from './sagemaker-job-trigger.ts';
