import { describe, expect, it } from 'vitest';
import { runScale } from './scale.ts';

describe('simulated jobs at scale (no child processes, one shared timer heap)', () => {
  it('1,500 concurrent simulated training jobs all walk to Completed, 5 events each', async () => {
    const r = await runScale(1500, 32, 1500);
    expect(r.eventsPublished).toBe(7500);
    expect(r.createPerSecond).toBeGreaterThan(100);
  }, 60_000);
});
