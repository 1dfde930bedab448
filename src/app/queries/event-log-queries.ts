/** Reads of the audit log (`event_logs`) for /eventLogs and the UI's audit page. */
import type { Filter } from 'mongodb';
import type { Store } from '../../store/store.ts';
import type { EventLogDoc } from '../../store/schema.ts';
import { readPage, type Page, type PageRequest } from './page.ts';

export interface EventLogCriteria {
  dagId?: string;
  taskId?: string;
  runId?: string;
  mapIndex?: number;
  tryNumber?: number;
  event?: string;
  owner?: string;
  /** Entries strictly before / after these instants. */
  before?: Date;
  after?: Date;
  includedEvents?: string[];
  excludedEvents?: string[];
}

export function eventLogFilter(c: EventLogCriteria): Filter<EventLogDoc> {
  const f: Filter<EventLogDoc> = {};
  if (c.dagId !== undefined) f.dag_id = c.dagId;
  if (c.taskId !== undefined) f.task_id = c.taskId;
  if (c.runId !== undefined) f.run_id = c.runId;
  if (c.mapIndex !== undefined) f.map_index = c.mapIndex;
  if (c.tryNumber !== undefined) f.try_number = c.tryNumber;
  if (c.owner !== undefined) f.owner = c.owner;
  const events: Record<string, unknown> = {};
  if (c.event !== undefined) events.$eq = c.event;
  if (c.includedEvents) events.$in = c.includedEvents;
  if (c.excludedEvents) events.$nin = c.excludedEvents;
  if (Object.keys(events).length) f.event = events as Filter<EventLogDoc>['event'];
  if (c.before || c.after) f.dttm = { ...(c.before ? { $lt: c.before } : {}), ...(c.after ? { $gt: c.after } : {}) };
  return f;
}

export function listEventLogs(store: Store, c: EventLogCriteria, page: PageRequest): Promise<Page<EventLogDoc>> {
  return readPage(store.eventLogs, eventLogFilter(c), page);
}

export function getEventLog(store: Store, id: number): Promise<EventLogDoc | null> {
  return store.eventLogs.findOne({ _id: id });
}
