/**
 * The audit trail of the use-cases: each user-visible change writes who did it, when and to what
 * into `event_logs` (served as Airflow's /eventLogs), from inside the use-case, so every front door
 * (API, UI, CLI, Runtime) leaves the same entries. Details never carry secrets: conf is recorded
 * by its keys, connections without password or extra.
 */
import type { EventLogDoc } from '../store/schema.ts';
import { EventLogRepository } from '../store/repositories/event-log-repository.ts';
import type { AppContext } from './app-context.ts';

export interface AuditEntry {
  event: string;
  dagId?: string | null;
  taskId?: string | null;
  runId?: string | null;
  mapIndex?: number | null;
  tryNumber?: number | null;
  logicalDate?: Date | null;
  details?: Record<string, unknown>;
}

/** Record entries for the context's actor, in one round trip. */
export function audit(app: AppContext, entries: AuditEntry[]): Promise<EventLogDoc[]> {
  if (!entries.length) return Promise.resolve([]);
  const { owner, source, details: actorDetails } = app.actor;
  return new EventLogRepository(app.store).add(
    entries.map((e) => ({
      event: e.event,
      owner,
      dag_id: e.dagId ?? null,
      task_id: e.taskId ?? null,
      run_id: e.runId ?? null,
      map_index: e.mapIndex ?? null,
      try_number: e.tryNumber ?? null,
      logical_date: e.logicalDate ?? null,
      extra: JSON.stringify({ source, ...(actorDetails ?? {}), ...(e.details ?? {}) }),
    })),
  );
}
