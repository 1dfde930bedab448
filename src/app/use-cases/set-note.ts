/**
 * A user's note on a DAG run or a task instance — PATCH …/dagRuns/{run}/setNote and
 * …/taskInstances/{task}/setNote (Airflow's set_dag_run_note / set_task_instance_note), the UI's
 * note fields. An empty note clears it. Audited (`note.dag_run` / `note.task_instance`, without the
 * text). Returns the row after the change, or null when it no longer exists.
 */
import { NoteRepository } from '../../store/repositories/note-repository.ts';
import type { DagRunDoc, TaskInstanceDoc } from '../../store/schema.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';

export async function setDagRunNote(app: AppContext, run: DagRunDoc, note: string): Promise<DagRunDoc | null> {
  const doc = await new NoteRepository(app.store, app.bus).setRunNote(run._id, note === '' ? null : note);
  if (doc) await audit(app, [{ event: 'note.dag_run', dagId: run.dag_id, runId: run.run_id, logicalDate: run.logical_date, details: { length: note.length } }]);
  return doc;
}

export async function setTaskInstanceNote(app: AppContext, ti: TaskInstanceDoc, note: string): Promise<TaskInstanceDoc | null> {
  const doc = await new NoteRepository(app.store, app.bus).setTaskInstanceNote(ti._id, note === '' ? null : note);
  if (doc) {
    await audit(app, [
      {
        event: 'note.task_instance',
        dagId: ti.dag_id,
        taskId: ti.task_id,
        runId: ti.run_id,
        mapIndex: ti.map_index,
        tryNumber: ti.try_number,
        logicalDate: ti.logical_date,
        details: { length: note.length },
      },
    ]);
  }
  return doc;
}
