/**
 * docs/ARCHITECTURE.md shows the state machines as they are in the code: its task-instance edge
 * table is TI_EDGE_TABLE and its held-trigger table is HELD_TRIGGER_EDGES, row for row. When the
 * code's table changes, this fails with the block to paste.
 */
import { describe, expect, it } from 'vitest';
import { ARCHITECTURE_DOC, docBlock } from './architecture-doc.ts';
import { heldTriggerTable, tiEdgeTable } from './state-tables.ts';

describe(ARCHITECTURE_DOC, () => {
  it.each([
    ['ti-edges', 'TI_EDGE_TABLE (src/store/transitions/task-instance-edges.ts)', tiEdgeTable],
    ['held-trigger-states', 'HELD_TRIGGER_EDGES (triggerer/held-trigger.ts)', heldTriggerTable],
  ])('shows %s as the code has it', (block, source, generate) => {
    const shown = docBlock(block);
    const want = generate();
    expect(shown, `${ARCHITECTURE_DOC} lacks its <!-- BEGIN ${block} --> … <!-- END ${block} --> block`).not.toBeNull();
    if (shown !== want) {
      expect.fail(`${ARCHITECTURE_DOC}'s "${block}" table disagrees with ${source}; replace the block's table with:\n\n${want}\n`);
    }
  });
});
