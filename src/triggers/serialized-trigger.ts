/**
 * What an operator hands to the triggerer when it defers: a registered trigger kind plus
 * JSON-serialisable kwargs. The triggerer rebuilds the running trigger from exactly this, so a
 * trigger survives process death and can be adopted by another triggerer.
 */
export interface SerializedTrigger {
  /** Registered trigger kind, e.g. 'deferflow.DateTimeTrigger' or 'aws.SageMakerJobTrigger'. */
  kind: string;
  /** JSON-serialisable arguments; validated by the kind's schema when the triggerer loads it. */
  kwargs: Record<string, unknown>;
}

/** Anything that can be turned into a SerializedTrigger (trigger classes implement serialize()). */
export type TriggerLike = SerializedTrigger | { serialize(): SerializedTrigger };

export function serializeTrigger(t: TriggerLike): SerializedTrigger {
  const s = 'serialize' in t && typeof t.serialize === 'function' ? t.serialize() : (t as SerializedTrigger);
  if (!s || typeof s.kind !== 'string' || !s.kind) throw new TypeError('trigger must have a non-empty kind');
  // Round-trip through JSON now so a non-serialisable kwarg fails in the task, not in the triggerer.
  return { kind: s.kind, kwargs: JSON.parse(JSON.stringify(s.kwargs ?? {})) as Record<string, unknown> };
}

/** Airflow's TriggerEvent: the payload the task's resume method receives as `kwargs.event`. */
export interface TriggerEvent {
  payload: unknown;
}
