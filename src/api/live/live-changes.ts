/**
 * The webserver's live feed of state changes (SSE and the UI): the one change feed
 * (src/store/changes/change-feed.ts — the in-process bus at once, other processes' writes through
 * the updated_at poll, each change once and never an older one), serialized as the API's
 * resources. One feed per server, shared by every open stream.
 *
 * The poll re-reads `overlapMs` before its cursor (default 2 s here): `updated_at` is stamped by
 * other machines' clocks, so a write stamped slightly in the past would otherwise be missed.
 */
import { type Observable, map } from 'rxjs';
import type { Logger } from 'pino';
import type { Store } from '../../store/store.ts';
import type { StateChangeBus } from '../../store/state-change-bus.ts';
import { ChangeFeed } from '../../store/changes/change-feed.ts';
import type { FeedChange } from '../../store/changes/feed-change.ts';
import type { ApiDagRun, ApiTaskInstance } from '../schemas/resources.ts';
import { apiDagRun, apiTaskInstance } from '../serializers.ts';

export { pageSince } from '../../store/changes/page-since.ts';

export type LiveChange =
  | { kind: 'task_instance'; previous_state?: string | null; ti: ApiTaskInstance }
  | { kind: 'dag_run'; previous_state?: string | null; run: ApiDagRun }
  | { kind: 'trigger'; action: string; trigger_id: string; task_instance_id?: string };

export interface LiveChangesOptions {
  pollMs?: number;
  /** How far before the cursor each poll looks again (clock skew between machines). */
  overlapMs?: number;
  logger?: Logger;
}

export class LiveChanges {
  readonly changes$: Observable<LiveChange>;
  private readonly feed: ChangeFeed;

  constructor(store: Store, bus: StateChangeBus | undefined, opts: LiveChangesOptions = {}) {
    this.feed = new ChangeFeed({ store, bus, pollMs: opts.pollMs ?? 1000, overlapMs: opts.overlapMs ?? 2000, logger: opts.logger });
    this.changes$ = this.feed.changes$.pipe(map(toLiveChange));
  }

  /** End every open stream's feed (server shutdown). */
  close(): void {
    this.feed.complete();
  }
}

/** Only in-process changes know their previous state (a none previous is left out, as before). */
function toLiveChange(c: FeedChange): LiveChange {
  if (c.kind === 'task_instance') return { kind: 'task_instance', previous_state: c.previous ?? undefined, ti: apiTaskInstance(c.ti) };
  if (c.kind === 'dag_run') return { kind: 'dag_run', previous_state: c.previous ?? undefined, run: apiDagRun(c.run) };
  return { kind: 'trigger', action: c.action, trigger_id: c.trigger_id, task_instance_id: c.task_instance_id };
}
