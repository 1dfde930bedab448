/**
 * ResumeBatches' coalescing, with the batched write replaced by a function the test controls
 * (what the write does on a real server is tested in test/integration/store/resolve-triggers.test.ts
 * and test/integration/triggerer/batched-resumes.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { TaskInstanceDoc } from '../../../src/store/schema.ts';
import type { TriggerResolution, TriggerResolutionResult } from '../../../src/store/transitions/task-instance-transitions.ts';
import { ResumeBatches } from '../../../triggerer/resume-batches.ts';

const item = (n: number): TriggerResolution => ({ triggerId: `trg-${n}`, tiId: `ti-${n}`, outcome: { type: 'event', payload: n } });
const won = (it: TriggerResolution): TriggerResolutionResult => {
  const row = { _id: it.tiId, state: 'scheduled' } as TaskInstanceDoc;
  return { after: row, current: row };
};

/** A write whose calls the test sees and settles one by one. */
function controlledWrite() {
  const calls: Array<{ items: TriggerResolution[]; settle(): void; fail(e: Error): void }> = [];
  const write = (items: ReadonlyArray<TriggerResolution>) =>
    new Promise<TriggerResolutionResult[]>((resolve, reject) => {
      calls.push({ items: [...items], settle: () => resolve(items.map(won)), fail: reject });
    });
  return { calls, write };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('ResumeBatches', () => {
  it('writes the outcomes of one event-loop turn as one batch and answers each caller its own row', async () => {
    const { calls, write } = controlledWrite();
    const b = new ResumeBatches(write);
    const answers = [1, 2, 3].map((n) => b.resolve(item(n)));
    await turn();
    expect(calls.map((c) => c.items.map((i) => i.tiId))).toEqual([['ti-1', 'ti-2', 'ti-3']]);
    calls[0]!.settle();
    expect((await Promise.all(answers)).map((a) => a.after?._id)).toEqual(['ti-1', 'ti-2', 'ti-3']);
  });

  it('keeps at most maxInFlight batches in flight; outcomes decided meanwhile join the next batch', async () => {
    const { calls, write } = controlledWrite();
    const b = new ResumeBatches(write, { maxInFlight: 1 });
    const first = b.resolve(item(1));
    await turn();
    const later = [2, 3, 4].map((n) => b.resolve(item(n)));
    await turn();
    await turn();
    expect(calls).toHaveLength(1);
    expect(b.pending).toBe(3);
    calls[0]!.settle();
    await first;
    await turn();
    await turn();
    expect(calls.map((c) => c.items.length)).toEqual([1, 3]);
    calls[1]!.settle();
    expect((await Promise.all(later)).map((a) => a.after?._id)).toEqual(['ti-2', 'ti-3', 'ti-4']);
    expect(b.writing).toBe(0);
  });

  it('splits what is waiting into batches of maxBatch rows', async () => {
    const { calls, write } = controlledWrite();
    const b = new ResumeBatches(write, { maxBatch: 2, maxInFlight: 4 });
    const answers = [1, 2, 3, 4, 5].map((n) => b.resolve(item(n)));
    await turn();
    expect(calls.map((c) => c.items.map((i) => i.tiId))).toEqual([['ti-1', 'ti-2'], ['ti-3', 'ti-4'], ['ti-5']]);
    for (const c of calls) c.settle();
    expect(await Promise.all(answers)).toHaveLength(5);
  });

  it('a failed batch rejects its own callers only', async () => {
    const { calls, write } = controlledWrite();
    const b = new ResumeBatches(write, { maxBatch: 1 });
    const a = b.resolve(item(1));
    const c = b.resolve(item(2));
    await turn();
    calls[0]!.fail(new Error('server gone'));
    calls[1]!.settle();
    await expect(a).rejects.toThrow('server gone');
    expect((await c).after?._id).toBe('ti-2');
  });

  it('refuses an answer that does not have one result per outcome', async () => {
    const b = new ResumeBatches(async () => []);
    await expect(b.resolve(item(1))).rejects.toThrow(/0 results for 1 outcomes/);
  });
});
