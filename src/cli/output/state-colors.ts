/**
 * Airflow's state colours (airflow/utils/state.py STATE_COLORS) as 256-colour ANSI codes, so a
 * terminal shows a run the way the Airflow grid does. Only used when writing to a TTY and
 * NO_COLOR is unset.
 */
const ANSI_256: Record<string, number> = {
  success: 34, // green
  failed: 196, // red
  running: 118, // lime
  queued: 245, // gray
  scheduled: 180, // tan
  up_for_retry: 220, // gold
  up_for_reschedule: 80, // turquoise
  upstream_failed: 208, // orange
  skipped: 205, // hotpink
  removed: 250, // lightgrey
  deferred: 141, // mediumpurple
  restarting: 141, // violet
  shutdown: 27, // blue
  none: 250,
};

export function colorsEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/** The state's name (`null` → "none"), coloured when `color` is true. */
export function formatState(state: string | null | undefined, color = false): string {
  const name = state ?? 'none';
  const code = ANSI_256[name];
  return color && code !== undefined ? `\u001b[38;5;${code}m${name}\u001b[0m` : name;
}
