/**
 * The state machines as the Markdown tables docs/ARCHITECTURE.md shows, generated from the code's
 * own tables (TI_EDGE_TABLE, HELD_TRIGGER_EDGES): architecture-doc.test.ts compares them, and its
 * failure message is the table to paste.
 */
import { ANY_TI_STATE, TI_EDGE_TABLE } from '../../../src/store/transitions/task-instance-edges.ts';
import type { TaskInstanceState } from '../../../src/store/schema.ts';
import { HELD_TRIGGER_EDGES } from '../../../triggerer/held-trigger.ts';

function stateName(s: TaskInstanceState): string {
  return s === null ? 'none' : s;
}

function states(list: readonly TaskInstanceState[]): string {
  if (list.length === ANY_TI_STATE.length && ANY_TI_STATE.every((s) => list.includes(s))) return 'any';
  return list.map(stateName).join(', ');
}

/** TI_EDGE_TABLE: one row per transition (its edges are every `from` × every `to`). */
export function tiEdgeTable(): string {
  const rows = Object.entries(TI_EDGE_TABLE).map(
    ([transition, g]) =>
      `| \`${transition}\` | ${states(g.from as readonly TaskInstanceState[])} | ${states(g.to as readonly TaskInstanceState[])} | ${g.roles.join(', ')} |`,
  );
  return ['| transition | from | to | called by (role) |', '|---|---|---|---|', ...rows].join('\n');
}

/** HELD_TRIGGER_EDGES: one row per state. */
export function heldTriggerTable(): string {
  const rows = Object.entries(HELD_TRIGGER_EDGES).map(([from, to]) => `| \`${from}\` | ${to.length ? to.map((s) => `\`${s}\``).join(', ') : '—'} |`);
  return ['| state | may move to |', '|---|---|', ...rows].join('\n');
}
