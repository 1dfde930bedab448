/** The after-image of a guarded update, computed instead of read back (batched writes). */
import { describe, expect, it } from 'vitest';
import { applyUpdate } from '../../../src/store/transitions/apply-update.ts';

describe('applyUpdate', () => {
  const doc = { _id: 'x', state: 'queued', version: 3, n: 1, tries: [1], gone: true };

  it('applies $set, $inc, $unset and $push without touching the input', () => {
    const out = applyUpdate(doc, { $set: { state: 'running' }, $inc: { version: 1, n: 2, fresh: 5 }, $unset: { gone: '' }, $push: { tries: 2 } });
    expect(out).toEqual({ _id: 'x', state: 'running', version: 4, n: 3, fresh: 5, tries: [1, 2] });
    expect(doc.state).toBe('queued');
  });

  it('supports $push with $each and $slice', () => {
    expect(applyUpdate(doc, { $push: { tries: { $each: [2, 3, 4], $slice: -2 } } })?.tries).toEqual([3, 4]);
    expect(applyUpdate(doc, { $push: { tries: { $each: [2], $slice: 0 } } })?.tries).toEqual([]);
  });

  it('answers null for what it cannot compute (the caller reads the row instead)', () => {
    expect(applyUpdate(doc, { $set: { 'a.b': 1 } })).toBeNull();
    expect(applyUpdate(doc, { $max: { n: 5 } })).toBeNull();
    expect(applyUpdate(doc, { $inc: { state: 1 } })).toBeNull();
    expect(applyUpdate(doc, { $push: { tries: { $each: [1], $position: 0 } } })).toBeNull();
  });
});
