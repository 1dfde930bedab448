import { describe, expect, it } from 'vitest';
import { runScale } from './scale.ts';

// Correctness at scale only; the creation rate is a speed figure and belongs to the benchmark
// (`npx tsx test/local-aws/scale.ts [jobs] [concurrency]`), never to an assertion.
describe('simulated jobs at scale (no child processes, one shared timer heap)', () => {
  it('1,500 concurrent simulated training jobs all walk to Completed, 5 events each', async () => {
    const r = await runScale(1500, 32, 1500);
    expect(r.jobs).toBe(1500);
    expect(r.eventsPublished).toBe(7500);
  }, 180_000);
});
