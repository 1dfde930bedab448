/**
 * N deferred task instances and their trigger rows, as a deferring worker writes them (shard from
 * the trigger id, no owner; SageMaker job triggers with check_on_start off, so holding them makes
 * no AWS call): the set-up the triggerer benches bulk-insert before they measure claiming.
 */
import { triggerShardOf, type TaskInstanceDoc, type TriggerDoc } from '../../src/store/schema.ts';
import { freshTaskInstanceFields } from '../../src/store/transitions/task-instance-transitions.ts';

export function deferredRows(from: number, to: number, now: Date): { tis: TaskInstanceDoc[]; triggers: TriggerDoc[] } {
  const tis: TaskInstanceDoc[] = [];
  const triggers: TriggerDoc[] = [];
  for (let i = from; i < to; i++) {
    const tiId = `bench|run|t_${i}`;
    const trId = `trg-${i}`;
    tis.push({
      ...freshTaskInstanceFields(),
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
      queued_dttm: now,
      start_date: now,
      trigger_id: trId,
      next_method: 'execute_complete',
      next_kwargs: '{}',
      deferred_at: now,
      version: 1,
      updated_at: now,
    });
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
