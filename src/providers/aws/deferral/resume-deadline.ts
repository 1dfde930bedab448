/**
 * A SageMaker operator or sensor that is resumed while its resource is still changing (the event
 * was forged, misrouted, or about a same-named resource elsewhere) defers again — until the first
 * deferral's absolute deadline, carried in the resume kwargs, so deferring again never extends it.
 */

/** Seconds left until an ISO deadline (at least a millisecond: a passed deadline times out at once). */
export function secondsUntil(deadline: string): number {
  return Math.max(1, new Date(deadline).getTime() - Date.now()) / 1000;
}
