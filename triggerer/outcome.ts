/**
 * Persisting what a trigger decided: resume the task with the event payload, or resume it into
 * `__fail__` with its typed reason — ONE guarded update by the task instance's `_id`, written
 * with the other outcomes of the same moment (resume-batches.ts) — then delete the trigger row,
 * batched likewise (row-deletes.ts). Shared by the held triggers (triggers this triggerer runs)
 * and the event dispatcher (events for triggers held elsewhere), so all follow the same guarded
 * path. The update is what the event's ack waits for; the row delete is clean-up.
 */
import type { TaskInstanceDoc, TriggerDoc } from '../src/store/schema.ts';
import type { ResumeBatches } from './resume-batches.ts';
import type { RowDeletes } from './row-deletes.ts';

/** A failure is a trigger failure unless `kind` says it was the trigger's deadline. */
export type TriggerOutcome = { type: 'event'; payload: unknown } | { type: 'failure'; error: string; kind?: 'trigger_failure' | 'trigger_timeout' };

/**
 * resumed: the task is scheduled again (this call did it) and the trigger is gone.
 * stale: the task was not deferred on this trigger (duplicate, resumed elsewhere, cleared); the
 *        trigger row was deleted as garbage.
 * not-deferred-yet: the task is still `running` — its worker inserted the trigger but has not yet
 *        moved it to deferred (deferral step 2) — or the deferral landed just after our update
 *        missed it. The trigger is kept; retry the outcome shortly.
 */
export type PersistResult = { result: 'resumed'; ti: TaskInstanceDoc } | { result: 'stale' } | { result: 'not-deferred-yet' };

export interface OutcomeDeps {
  resumes: ResumeBatches;
  rowDeletes: RowDeletes;
}

export async function persistTriggerOutcome(
  deps: OutcomeDeps,
  trigger: Pick<TriggerDoc, '_id' | 'task_instance_id'>,
  outcome: TriggerOutcome,
): Promise<PersistResult> {
  const { after, current } = await deps.resumes.resolve({
    triggerId: trigger._id,
    tiId: trigger.task_instance_id,
    outcome:
      outcome.type === 'event'
        ? { type: 'event', payload: outcome.payload }
        : { type: 'failure', reason: { kind: outcome.kind ?? 'trigger_failure', message: outcome.error } },
  });
  if (after) {
    // Batched with the other resumes of this moment; the event's ack waits for it too, so a
    // redelivered event finds no row (the guarded update above is what makes it safe anyway).
    await deps.rowDeletes.delete(trigger._id, 'fired');
    return { result: 'resumed', ti: after };
  }
  // `current` is the row as the batch last saw it (read with the batch, or read back after a lost write).
  if (current && current.state === 'running' && current.trigger_id !== trigger._id) return { result: 'not-deferred-yet' };
  // Still deferred on this trigger (the deferral landed, or the row changed, between the read and the write): try again, never delete.
  if (current && current.state === 'deferred' && current.trigger_id === trigger._id) return { result: 'not-deferred-yet' };
  await deps.rowDeletes.delete(trigger._id, 'deleted');
  return { result: 'stale' };
}

/**
 * Whether a trigger row is garbage given its task's current row: the task is gone, or it is no
 * longer deferred on this trigger and not `running` (a running task may be mid-deferral).
 */
export function isOrphanTrigger(triggerId: string, ti: Pick<TaskInstanceDoc, 'state' | 'trigger_id'> | null | undefined): boolean {
  if (!ti) return true;
  if (ti.state === 'deferred' && ti.trigger_id === triggerId) return false;
  return ti.state !== 'running';
}
