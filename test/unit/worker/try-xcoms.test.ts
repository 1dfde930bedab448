/** XComs a try can pull: loaded on demand, synchronous pulls, a clear error for what was not loaded. */
import { describe, expect, it } from 'vitest';
import { TryXComs } from '../../../src/worker/try-xcoms.ts';
import type { XComDoc } from '../../../src/store/schema.ts';

const doc = (task: string, key: string, value: unknown): XComDoc => ({
  _id: `d|r|${task}|${key}`,
  dag_id: 'd',
  run_id: 'r',
  task_id: task,
  map_index: -1,
  key,
  value: JSON.stringify(value),
  timestamp: new Date(),
});

describe('TryXComs', () => {
  it('answers loaded tasks (absent keys as undefined) and refuses tasks not loaded, saying what to change', () => {
    const x = new TryXComs('me');
    x.add([doc('up', 'return_value', 7)], ['up', 'me']);
    expect(x.get('up', 'return_value')).toBe(7);
    expect(x.get('up', 'other')).toBeUndefined();
    expect(x.get('me', 'return_value')).toBeUndefined();
    expect(() => x.get('elsewhere', 'return_value')).toThrow(/not loaded for task 'me'/);
  });

  it('while recording, notes pulls of what is not loaded (once each) and answers them as absent', () => {
    const x = new TryXComs('me');
    x.record();
    expect(x.get('far', 'return_value')).toBeUndefined();
    expect(x.get('far', 'return_value')).toBeUndefined();
    expect(x.get('far', 'k')).toBeUndefined();
    expect(x.stopRecording()).toEqual([
      ['far', 'return_value'],
      ['far', 'k'],
    ]);
    x.add(
      [doc('far', 'return_value', { a: 1 })],
      [],
      [
        ['far', 'return_value'],
        ['far', 'k'],
      ],
    );
    expect(x.get('far', 'return_value')).toEqual({ a: 1 });
    expect(x.get('far', 'k')).toBeUndefined();
    expect(() => x.get('far', 'other')).toThrow(/not loaded/);
  });

  it('a value the try pushes is pulled back at once', () => {
    const x = new TryXComs('me');
    x.set('me', 'job', 'j-1');
    expect(x.get('me', 'job')).toBe('j-1');
  });
});
