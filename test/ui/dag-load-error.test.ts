/**
 * A run whose DAG no scheduler can load is visible as such — in the API and in the UI (headless
 * Chromium) — with the reason the scheduler's check found, and no longer once the DAG loads.
 * The flag is set by the scheduler's own check (RunDagAvailability) against the real test server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { HAVE_CHROMIUM, launchChromium } from '../support/browser.ts';
import { startWebserver, type RunningWebserver } from '../../src/api/server.ts';
import { RunDagAvailability } from '../../src/dag-processing/run-availability.ts';
import type { DagDefinition } from '../../src/dag-processing/dag-definition.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { DagRunDoc } from '../../src/store/schema.ts';
import type { Store } from '../../src/store/store.ts';
import { closeTestStore, Driver, openTestStore, seedDag } from '../api/helpers.ts';

const REASON = "DAG 'gone_dag' is no longer defined in /dags/gone.ts (the file was deleted or the DAG removed from it)";

let store: Store;
let ws: RunningWebserver;
let run: DagRunDoc;
let availability: RunDagAvailability;

beforeAll(async () => {
  store = await openTestStore('ui_load_error');
  const dag = await seedDag(store, 'gone_dag', { only: [] }, { is_active: false, fileloc: '/dags/gone.ts' });
  run = await new Driver(store).runs.create({
    dagId: dag.dag_id,
    runId: 'manual__orphan',
    runType: 'manual',
    logicalDate: new Date('2025-04-09T00:00:00Z'),
    dataInterval: { start: new Date('2025-04-09T00:00:00Z'), end: new Date('2025-04-09T00:00:00Z') },
  });
  availability = new RunDagAvailability({ store, logger: createLogger({ level: 'silent', format: 'json' }), recheckMs: 0 });
  ws = await startWebserver({ store, port: 0, livePollMs: 200, metricsRegistry: new Registry() });
}, 60_000);

afterAll(async () => {
  await ws?.close();
  if (store) await closeTestStore(store);
});

const apiRun = async (): Promise<{ state: string; dag_load_error: string | null; dag_version: string | null }> =>
  (await fetch(`${ws.url}/api/v1/dags/gone_dag/dagRuns/manual__orphan`)).json() as never;

describe('a run whose DAG cannot be loaded', () => {
  it('is flagged with the reason in the API, and cleared once the DAG loads', async () => {
    const nothing = { getDag: (): DagDefinition | undefined => undefined };
    await availability.check([run], nothing);
    expect(await apiRun()).toMatchObject({ state: 'queued', dag_load_error: REASON, dag_version: null });

    const flagged = (await store.dagRuns.findOne({ _id: run._id }))!;
    await availability.check([flagged], { getDag: () => ({ dagId: 'gone_dag' }) as DagDefinition });
    expect((await apiRun()).dag_load_error).toBeNull();
    await availability.check([(await store.dagRuns.findOne({ _id: run._id }))!], nothing);
  });

  it.skipIf(!HAVE_CHROMIUM)(
    'shows the reason on the run in the UI',
    async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(`${ws.url}/#/dags/gone_dag/grid`);
        const banner = page.locator('[data-role="dag-load-error"]');
        await banner.waitFor({ timeout: 30_000 });
        expect(await banner.textContent()).toBe(`DAG cannot be loaded: ${REASON}`);
        expect(await page.locator('.run-bar[data-run="manual__orphan"]').getAttribute('title')).toContain(REASON);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
