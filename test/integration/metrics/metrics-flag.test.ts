/**
 * `--metrics-port` on the process commands: a separately started triggerer and worker announce
 * where they serve /metrics and /health and serve them there (the README's multi-process layout,
 * where the webserver cannot see these processes' own series).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../../cli/cli-harness.ts';
import { poller } from '../../support/wait-for.ts';

let h: CliHarness;
beforeAll(async () => {
  h = await createCliHarness('metrics_flag');
});
afterAll(async () => {
  await h?.close();
});

const waitFor = poller({ timeoutMs: 60_000, intervalMs: 100 });

describe('process commands with --metrics-port', { timeout: 120_000 }, () => {
  it('triggerer and worker serve /metrics and /health on the announced address', async () => {
    const triggerer = h.start(['triggerer', '--metrics-port', '0']);
    const worker = h.start(['worker', '--slots', '3', '--metrics-port', '0']);
    try {
      for (const [p, kind] of [
        [triggerer, 'triggerer'],
        [worker, 'worker'],
      ] as const) {
        const url = await waitFor(
          `${kind} to announce its metrics address`,
          async () => /metrics on (http:\/\/[^\s]+)\/metrics/.exec(p.output())?.[1] ?? null,
        ).catch((e: Error) => {
          throw new Error(`${e.message}\n--- output:\n${p.output()}`);
        });
        const text = await (await fetch(`${url}/metrics`)).text();
        expect(text).toContain('deferflow_process_cpu_seconds_total');
        if (kind === 'triggerer') {
          expect(text).toContain('deferflow_oldest_deferral_age_seconds');
          expect(text).toContain('deferflow_deferral_age_seconds_bucket{le="3600"}');
        } else {
          expect(text).toMatch(/deferflow_worker_slots\{worker_id="[^"]+",kind="free"\} 3/);
        }
        const health = await waitFor(`${kind} to be healthy`, async () => {
          const r = await fetch(`${url}/health`);
          return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : null;
        });
        expect(health.processes).toEqual([kind]);
      }
      const bad = await h.run(['worker', '--metrics-port', 'lots']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('--metrics-port');
    } finally {
      expect(await triggerer.stop()).toBe(0);
      expect(await worker.stop()).toBe(0);
    }
  });
});
