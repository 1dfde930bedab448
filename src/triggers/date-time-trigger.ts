/**
 * `deferflow.DateTimeTrigger`: fires at an absolute moment, with the moment (ISO string) as its
 * payload — Airflow's DateTimeTrigger. Waits on the triggerer's shared timer heap (ctx.at), so a
 * triggerer holding 100k of them arms one OS timer, not 100k.
 *
 *   kwargs: { moment: '2025-01-01T00:00:00.000Z' }
 *   payload: '2025-01-01T00:00:00.000Z'
 */
import { map, timer, type Observable } from 'rxjs';
import { z } from 'zod';
import type { TriggerKind, TriggerRunContext } from './trigger-kind.ts';
import type { SerializedTrigger, TriggerEvent } from './serialized-trigger.ts';

export const DATE_TIME_TRIGGER_KIND = 'deferflow.DateTimeTrigger';

export const dateTimeKwargsSchema = z.object({
  moment: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'moment must be an ISO-8601 date-time' }),
});
export type DateTimeKwargs = z.infer<typeof dateTimeKwargsSchema>;

/** Shared by DateTime and TimeDelta kinds: wait for the moment, emit it. */
export function runUntilMoment(moment: string, ctx: TriggerRunContext): Observable<TriggerEvent> {
  const at = new Date(moment);
  const wait$: Observable<unknown> = ctx.at ? ctx.at(at) : timer(at);
  return wait$.pipe(map(() => ({ payload: at.toISOString() })));
}

export const dateTimeTriggerKind: TriggerKind<DateTimeKwargs> = {
  kind: DATE_TIME_TRIGGER_KIND,
  schema: dateTimeKwargsSchema,
  run: (kw, ctx) => runUntilMoment(kw.moment, ctx),
  describe: (kw) => `until ${new Date(kw.moment).toISOString()}`,
};

export class DateTimeTrigger {
  readonly moment: Date;

  constructor(moment: Date | string) {
    this.moment = moment instanceof Date ? moment : new Date(moment);
    if (Number.isNaN(this.moment.getTime())) throw new TypeError(`DateTimeTrigger: invalid moment ${String(moment)}`);
  }

  serialize(): SerializedTrigger {
    return { kind: DATE_TIME_TRIGGER_KIND, kwargs: { moment: this.moment.toISOString() } };
  }
}
