/**
 * Trigger rows: created by a deferring worker (unowned), claimed by a triggerer, deleted when
 * fired or when their task no longer waits on them. Ownership changes are guarded updates like
 * every other transition; the triggerer module adds claim/adopt/release here.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store.ts';
import type { StateChangeBus } from '../state-change-bus.ts';
import type { TriggerDoc, TaskInstanceDoc } from '../schema.ts';
import type { SerializedTrigger } from '../../triggers/serialized-trigger.ts';

export interface NewTrigger {
  trigger: SerializedTrigger;
  deadline: Date | null;
  ti: Pick<TaskInstanceDoc, '_id' | 'dag_id' | 'run_id' | 'task_id'>;
  routingKeys?: string[];
  description?: string | null;
}

export class TriggerTransitions {
  constructor(
    private readonly store: Store,
    private readonly bus?: StateChangeBus,
  ) {}

  /** Step 1 of the deferral contract: insert the trigger, unowned. */
  async create(t: NewTrigger): Promise<TriggerDoc> {
    const doc: TriggerDoc = {
      _id: randomUUID(),
      kind: t.trigger.kind,
      kwargs: JSON.stringify(t.trigger.kwargs ?? {}),
      created_at: new Date(),
      deadline: t.deadline,
      triggerer_id: null,
      claimed_at: null,
      task_instance_id: t.ti._id,
      dag_id: t.ti.dag_id,
      run_id: t.ti.run_id,
      task_id: t.ti.task_id,
      routing_keys: t.routingKeys ?? [],
      description: t.description ?? null,
    };
    await this.store.triggers.insertOne(doc);
    this.bus?.emit({ kind: 'trigger', at: doc.created_at, action: 'created', trigger_id: doc._id, task_instance_id: doc.task_instance_id });
    return doc;
  }

  /** Delete a trigger (fired, or its task was cleared/marked, or the deferral lost its race). */
  async delete(triggerId: string, action: 'fired' | 'deleted' = 'deleted'): Promise<boolean> {
    const r = await this.store.triggers.deleteOne({ _id: triggerId });
    if (r.deletedCount === 1) this.bus?.emit({ kind: 'trigger', at: new Date(), action, trigger_id: triggerId });
    return r.deletedCount === 1;
  }
}
