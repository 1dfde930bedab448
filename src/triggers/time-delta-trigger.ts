/**
 * `deferflow.TimeDeltaTrigger`: fires a duration after the task deferred. It serialises as the
 * absolute moment (now + delta), as Airflow's does, so a triggerer restart or an adoption by
 * another triggerer keeps the original wake-up time instead of starting the delta over.
 *
 *   new TimeDeltaTrigger('5m')  →  { kind: 'deferflow.TimeDeltaTrigger', kwargs: { moment, delta_ms } }
 *   payload: the moment (ISO string)
 */
import { z } from 'zod';
import { parseDuration, type Duration } from '../util/duration.ts';
import type { TriggerKind } from './trigger-kind.ts';
import type { SerializedTrigger } from './serialized-trigger.ts';
import { dateTimeKwargsSchema, runUntilMoment } from './date-time-trigger.ts';

export const TIME_DELTA_TRIGGER_KIND = 'deferflow.TimeDeltaTrigger';

export const timeDeltaKwargsSchema = dateTimeKwargsSchema.extend({ delta_ms: z.number().nonnegative().optional() });
export type TimeDeltaKwargs = z.infer<typeof timeDeltaKwargsSchema>;

export const timeDeltaTriggerKind: TriggerKind<TimeDeltaKwargs> = {
  kind: TIME_DELTA_TRIGGER_KIND,
  schema: timeDeltaKwargsSchema,
  run: (kw, ctx) => runUntilMoment(kw.moment, ctx),
  describe: (kw) => `until ${new Date(kw.moment).toISOString()}${kw.delta_ms !== undefined ? ` (+${kw.delta_ms} ms)` : ''}`,
};

export class TimeDeltaTrigger {
  readonly deltaMs: number;

  constructor(delta: Duration) {
    this.deltaMs = parseDuration(delta);
  }

  /** Fixes the moment when serialised (i.e. when the task defers). */
  serialize(now: Date = new Date()): SerializedTrigger {
    return { kind: TIME_DELTA_TRIGGER_KIND, kwargs: { moment: new Date(now.getTime() + this.deltaMs).toISOString(), delta_ms: this.deltaMs } };
  }
}
