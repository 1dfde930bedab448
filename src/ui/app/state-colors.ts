import type { ApiTaskInstance } from '../../api/schemas/resources.ts';

/** A task-instance state as the UI names it: the API's states, and `none` for null (not yet scheduled). */
export type StateName = NonNullable<ApiTaskInstance['state']> | 'none';

/**
 * Airflow's state colours (airflow/settings.py STATE_COLORS), deferred = mediumpurple. The UI's one
 * list of states: typed by the API's state type, so a state the API gains is a compile error here
 * until it has a colour (the browser can import no runtime list from the API). Life-cycle order,
 * which is the order the task-instance state filter offers them in.
 */
export const STATE_COLORS: Record<StateName, string> = {
  none: 'white',
  scheduled: 'tan',
  queued: 'gray',
  running: 'lime',
  deferred: 'mediumpurple',
  success: 'green',
  failed: 'red',
  up_for_retry: 'gold',
  up_for_reschedule: 'turquoise',
  upstream_failed: 'orange',
  skipped: 'hotpink',
  removed: 'lightgrey',
  restarting: 'violet',
  shutdown: 'blue',
};

/** Every task-instance state, `none` first (filters offer them all). */
export const TI_STATE_NAMES = Object.keys(STATE_COLORS) as StateName[];

export function stateColor(state: string | null | undefined): string {
  return (STATE_COLORS as Record<string, string | undefined>)[state ?? 'none'] ?? 'white';
}

/** Text colour readable on the state colour. */
export function stateTextColor(state: string | null | undefined): string {
  return ['success', 'failed', 'deferred', 'shutdown', 'queued'].includes(state ?? '') ? 'white' : 'black';
}

export const RUNNING_STATES = new Set(['running', 'deferred', 'queued', 'scheduled', 'up_for_retry', 'up_for_reschedule', 'restarting']);
