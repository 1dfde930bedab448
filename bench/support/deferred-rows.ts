/**
 * N deferred task instances and their trigger rows, as a deferring worker writes them (shard from
 * the trigger id, no owner; SageMaker job triggers with check_on_start off, so holding them makes
 * no AWS call): the set-up the triggerer benches bulk-insert before they measure claiming.
 */
import { triggerShardOf, type TaskInstanceDoc, type TriggerDoc } from '../../src/store/schema.ts';

export function deferredRows(from: number, to: number, now: Date): { tis: TaskInstanceDoc[]; triggers: TriggerDoc[] } {
  const tis: TaskInstanceDoc[] = [];
  const triggers: TriggerDoc[] = [];
  for (let i = from; i < to; i++) {
    const tiId = `bench|run|t_${i}`;
    const trId = `trg-${i}`;
    tis.push({
      _id: tiId,
      dag_id: 'bench',
      run_id: 'run',
      task_id: `t_${i}`,
      map_index: -1,
      logical_date: now,
      state: 'deferred',
      try_number: 1,
      max_tries: 0,
      operator: 'SageMakerTrainingOperatorAsync',
      queue: 'default',
      priority_weight: 1,
      scheduled_after: null,
      queued_dttm: now,
      start_date: now,
      end_date: null,
      duration: null,
      worker_id: null,
      lease_token: null,
      lease_expires_at: null,
      hostname: null,
      pid: null,
      trigger_id: trId,
      next_method: 'execute_complete',
      next_kwargs: '{}',
      trigger_timeout: null,
      trigger_event: null,
      fail_reason: null,
      deferred_at: now,
      resumed_at: null,
      execution_deadline: null,
      running_ms: 0,
      deferred_ms: 0,
      rendered_fields: null,
      last_error: null,
      version: 1,
      updated_at: now,
    } as TaskInstanceDoc);
    triggers.push({
      _id: trId,
      kind: 'aws.SageMakerJobTrigger',
      kwargs: JSON.stringify({ job_type: 'training', job_name: `bench-job-${i}`, check_on_start: false }),
      created_at: now,
      deadline: null,
      shard: triggerShardOf(trId),
      triggerer_id: null,
      claimed_at: null,
      task_instance_id: tiId,
      dag_id: 'bench',
      run_id: 'run',
      task_id: `t_${i}`,
      routing_keys: [`sagemaker:training-job:bench-job-${i}`],
      description: `SageMaker training bench-job-${i}`,
    });
  }
  return { tis, triggers };
}
