/**
 * deferflow's own trigger kinds, as data: `composeDeferral` puts them in every registry it builds.
 * (Provider kinds, such as `aws.SageMakerJobTrigger`, come with their provider.)
 */
import type { AnyTriggerKind } from './trigger-kind.ts';
import { anyTriggerKind } from './trigger-kind.ts';
import { dateTimeTriggerKind } from './date-time-trigger.ts';
import { timeDeltaTriggerKind } from './time-delta-trigger.ts';
import { eventPatternTriggerKind } from './event-pattern-trigger.ts';

export const BUILTIN_TRIGGER_KINDS: readonly AnyTriggerKind[] = [
  anyTriggerKind(dateTimeTriggerKind),
  anyTriggerKind(timeDeltaTriggerKind),
  anyTriggerKind(eventPatternTriggerKind),
];

export { DateTimeTrigger, DATE_TIME_TRIGGER_KIND } from './date-time-trigger.ts';
export { TimeDeltaTrigger, TIME_DELTA_TRIGGER_KIND } from './time-delta-trigger.ts';
export { EventPatternTrigger, EVENT_PATTERN_TRIGGER_KIND } from './event-pattern-trigger.ts';
