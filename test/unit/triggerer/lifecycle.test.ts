import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { Lifecycle, drainOrForce } from '../../../triggerer/lifecycle.ts';

const newScheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

describe('triggerer lifecycle state machine', () => {
  it('walks created → starting → running → draining → stopped and completes', () => {
    newScheduler().run(({ expectObservable, cold }) => {
      const lc = new Lifecycle();
      cold('-a-b-c-d').subscribe((s) => lc.to(({ a: 'starting', b: 'running', c: 'draining', d: 'stopped' } as const)[s as 'a' | 'b' | 'c' | 'd']));
      expectObservable(lc.state$).toBe('01-2-3-(4|)', { 0: 'created', 1: 'starting', 2: 'running', 3: 'draining', 4: 'stopped' });
    });
  });

  it('rejects transitions the machine does not allow', () => {
    const lc = new Lifecycle();
    expect(() => lc.to('running')).toThrow(/created → running/);
    lc.to('starting');
    lc.to('running');
    expect(() => lc.to('stopped')).toThrow(/running → stopped/);
    expect(lc.canMove('draining')).toBe(true);
  });

  it('drain: in-flight work that finishes in time wins the race', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(drainOrForce(cold('--a--|'), 10)).toBe('-----(d|)', { d: 'drained' });
    });
  });

  it('drain: work still running at the deadline is forced', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(drainOrForce(cold('--a------------|'), 10)).toBe('10ms (f|)', { f: 'forced' });
    });
  });

  it('drain: nothing in flight drains at once', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(drainOrForce(cold('|'), 10)).toBe('(d|)', { d: 'drained' });
    });
  });
});
