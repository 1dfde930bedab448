/** When the DAG processor scans: a full rescan every interval, and a debounced scan after file-system events. */
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { broaderScan, scanTriggers$ } from '../../../src/dag-processing/scan-triggers.ts';

const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('scanTriggers$', () => {
  it('rescans the whole folder every interval', () => {
    marbles().run(({ cold, expectObservable }) => {
      const out$ = scanTriggers$({ fileEvents$: cold('-'), dirListIntervalMs: 10, debounceMs: 3 });
      expectObservable(out$, '^ 35ms !').toBe('10ms f 9ms f 9ms f', { f: 'full' });
    });
  });

  it('scans for changes once an editor burst of events has been quiet for debounceMs', () => {
    marbles().run(({ cold, expectObservable }) => {
      // A save: three events within 2 ms; another file 10 ms later.
      const events = cold('-aaa 9ms b', { a: 'x', b: 'y' });
      const out$ = scanTriggers$({ fileEvents$: events, dirListIntervalMs: 1000, debounceMs: 3 });
      expectObservable(out$, '^ 30ms !').toBe('------c 9ms c', { c: 'changes' });
    });
  });
});

describe('broaderScan', () => {
  it('lets a pending full scan cover a changes-only request, and not the other way round', () => {
    expect(broaderScan(null, 'changes')).toBe('changes');
    expect(broaderScan('changes', 'full')).toBe('full');
    expect(broaderScan('full', 'changes')).toBe('full');
  });
});
