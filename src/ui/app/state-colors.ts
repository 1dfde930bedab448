/** Airflow's state colours (airflow/settings.py STATE_COLORS), deferred = mediumpurple. */
export const STATE_COLORS: Record<string, string> = {
  success: 'green',
  running: 'lime',
  failed: 'red',
  upstream_failed: 'orange',
  skipped: 'hotpink',
  up_for_retry: 'gold',
  up_for_reschedule: 'turquoise',
  queued: 'gray',
  scheduled: 'tan',
  deferred: 'mediumpurple',
  removed: 'lightgrey',
  restarting: 'violet',
  shutdown: 'blue',
  none: 'white',
};

export function stateColor(state: string | null | undefined): string {
  return STATE_COLORS[state ?? 'none'] ?? 'white';
}

/** Text colour readable on the state colour. */
export function stateTextColor(state: string | null | undefined): string {
  return ['success', 'failed', 'deferred', 'shutdown', 'queued'].includes(state ?? '') ? 'white' : 'black';
}

export const RUNNING_STATES = new Set(['running', 'deferred', 'queued', 'scheduled', 'up_for_retry', 'up_for_reschedule', 'restarting']);
