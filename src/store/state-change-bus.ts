/**
 * In-process stream of state changes made through the transitions module. The runtime's
 * `events$`, the webserver's live updates and the loops' wake-ups subscribe here; changes made by
 * other processes arrive through pollers that feed the same bus.
 */
import { Subject, type Observable } from 'rxjs';
import type { DagRunDoc, DagRunState, TaskInstanceDoc, TaskInstanceState } from './schema.ts';

export type StateChange =
  | { kind: 'task_instance'; at: Date; previous: TaskInstanceState | undefined; ti: TaskInstanceDoc }
  | { kind: 'dag_run'; at: Date; previous: DagRunState | undefined; run: DagRunDoc }
  | { kind: 'trigger'; at: Date; action: 'created' | 'fired' | 'deleted' | 'claimed' | 'released'; trigger_id: string; task_instance_id?: string };

export class StateChangeBus {
  private readonly subject = new Subject<StateChange>();
  readonly changes$: Observable<StateChange> = this.subject.asObservable();
  private readonly writers = new Set<string>();

  /**
   * Writers (the `changed_by` ids of TaskInstanceTransitions) that emit every task-instance change
   * they make here. A subscriber of this bus therefore hears of their changes without reading them
   * back from MongoDB (the scheduler's changed-rows read skips them).
   */
  registerWriter(id: string): void {
    this.writers.add(id);
  }

  get reportingWriters(): ReadonlySet<string> {
    return this.writers;
  }

  emit(change: StateChange): void {
    this.subject.next(change);
  }

  complete(): void {
    this.subject.complete();
  }
}
