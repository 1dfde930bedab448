/** DAG tasks → the TaskSpecs `TaskInstanceTransitions.createForRun` inserts. */
import type { DagDefinition as DAG } from '../dag-processing/dag-definition.ts';
import type { TaskSpec } from '../store/transitions/task-instance-transitions.ts';

export function taskSpecsOf(dag: DAG, taskIds: Iterable<string> = dag.taskIds): TaskSpec[] {
  const out: TaskSpec[] = [];
  for (const id of taskIds) {
    const t = dag.getTask(id);
    out.push({ task_id: t.taskId, operator: t.operatorName, queue: t.queue, priority_weight: t.priorityWeight, retries: t.retries });
  }
  return out;
}
