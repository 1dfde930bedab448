/**
 * The UI in headless Chromium against a real webserver on FerretDB. A run progresses while the
 * page is open (states driven through the real transitions, with the in-process bus as in
 * standalone): cells turn deferred (mediumpurple) then success (green) without a reload, logs
 * tail, a run is triggered with conf from the form, a task is marked failed, and the Gantt grows.
 * Screenshots go to test/artifacts/. Skipped only when Chromium (CHROMIUM_PATH, default /usr/bin/chromium) is absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, collectPageErrors, HAVE_CHROMIUM, launchChromium, until } from '../support/browser.ts';
import { startWebserver, type RunningWebserver } from '../../src/api/server.ts';
import { StateChangeBus } from '../../src/store/state-change-bus.ts';
import type { Store } from '../../src/store/store.ts';
import type { DagDoc } from '../../src/store/schema.ts';
import { Driver, closeTestStore, openTestStore, seedDag, taskInstanceId } from '../api/helpers.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
if (!HAVE_CHROMIUM) console.warn(`[test/ui] skipping browser tests: ${CHROMIUM} not found (apt-get install -y chromium)`);

const PURPLE = 'rgb(147, 112, 219)'; // mediumpurple
const GREEN = 'rgb(0, 128, 0)';
const RED = 'rgb(255, 0, 0)';
const DAG_ID = 'sagemaker_pipeline';

describe.skipIf(!HAVE_CHROMIUM)('web UI (headless Chromium)', () => {
  let store: Store;
  let ws: RunningWebserver;
  let browser: Browser;
  let page: Page;
  let dag: DagDoc;
  let d: Driver;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    store = await openTestStore('ui');
    const bus = new StateChangeBus();
    d = new Driver(store, bus);
    dag = await seedDag(
      store,
      DAG_ID,
      { prepare_data: ['train_model'], train_model: ['evaluate'], evaluate: ['publish_report'], publish_report: [] },
      { description: 'Prepare, train on SageMaker (deferred), evaluate, publish' },
    );
    await seedDag(store, 'nightly_batch', { transform: [] }, { is_paused: true, schedule: '@daily' });
    await store.importErrors.insertOne({
      _id: '/dags/broken.ts',
      filename: '/dags/broken.ts',
      stacktrace: "SyntaxError: Unexpected token ')' (/dags/broken.ts:5:13)",
      timestamp: new Date(),
    });
    ws = await startWebserver({ store, bus, port: 0, livePollMs: 200, metricsRegistry: new Registry() });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    collectPageErrors(page, pageErrors);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await ws?.close();
    if (store) await closeTestStore(store);
  });

  const cell = (runId: string, taskId: string) => page.locator(`.ti-cell[data-ti="${runId}|${taskId}"]`);
  const bg = (runId: string, taskId: string) => cell(runId, taskId).evaluate((el) => getComputedStyle(el).backgroundColor);
  it('lists DAGs with import errors, pause state and recent runs', async () => {
    await d.createRun(dag, 'run_1', new Date('2025-05-01T00:00:00Z'), { epochs: 3 });
    await page.goto(`${ws.url}/#/`);
    await page.locator('tr[data-dag-id="sagemaker_pipeline"]').waitFor();
    expect(await page.locator('.import-error summary').textContent()).toContain('/dags/broken.ts');
    expect(await page.locator('input.pause-toggle[data-dag-id="nightly_batch"]').isChecked()).toBe(false);
    expect(await page.locator('input.pause-toggle[data-dag-id="sagemaker_pipeline"]').isChecked()).toBe(true);
    await page.locator('tr[data-dag-id="sagemaker_pipeline"] .run-dot').waitFor();
    await page.locator('input.pause-toggle[data-dag-id="nightly_batch"]').click();
    await until(async () => (await store.dags.findOne({ _id: 'nightly_batch' }))!.is_paused === false, 'unpause through the API');
  }, 180_000);

  it('repaints the grid live: deferred (purple), then success (green), without reloading', async () => {
    await page.goto(`${ws.url}/#/dags/${DAG_ID}/grid`);
    await cell('run_1', 'train_model').waitFor();
    await page.waitForSelector('#live-status.ok');
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

    await d.run(DAG_ID, 'run_1', 'prepare_data');
    await until(async () => (await bg('run_1', 'prepare_data')) === GREEN, 'prepare_data green');
    const { ti, triggerId } = await d.defer(DAG_ID, 'run_1', 'train_model', 'train-run-1');
    await until(async () => (await bg('run_1', 'train_model')) === PURPLE, 'train_model purple (deferred)');

    // the task instance panel: details with the trigger, logs tailing while deferred
    await d.log(ti, 1, ['Submitting SageMaker training job train-run-1', 'Deferring to the triggerer: waiting for the job state change']);
    await cell('run_1', 'train_model').click();
    await page.locator('.ti-panel pre.log').waitFor();
    await until(async () => ((await page.locator('.ti-panel pre.log').textContent()) ?? '').includes('Deferring to the triggerer'), 'log shown');
    expect(await page.locator('.ti-panel').textContent()).toContain('training job train-run-1');
    await d.log(ti, 1, ['Job train-run-1 is InProgress (Training)'], 2);
    await until(async () => ((await page.locator('.ti-panel pre.log').textContent()) ?? '').includes('InProgress (Training)'), 'log tail picks up a new line');
    await page.screenshot({ path: join(ARTIFACTS, 'grid.png') });

    // the Gantt shows the running part and the deferred part (purple) growing to now
    await page.goto(`${ws.url}/#/dags/${DAG_ID}/gantt/run_1`);
    const deferredBar = page.locator('svg.gantt g.gantt-row[data-task="train_model"] rect[data-segment="deferred"]');
    await deferredBar.waitFor();
    expect(await deferredBar.getAttribute('fill')).toBe('mediumpurple');
    // The deferred part extends to now: the axis rescales, so where it starts moves left. (Bar
    // positions, not the widths of the few-millisecond parts before it, which are clamped to 2 px.)
    const deferredX = Number(await deferredBar.getAttribute('x'));
    await until(
      async () => Number(await deferredBar.getAttribute('x')) < deferredX,
      'the deferred bar grows (where it starts moves left on the rescaled axis)',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'gantt.png') });

    // the deferrals page lists it
    await page.goto(`${ws.url}/#/deferrals`);
    await page.locator(`.deferrals tr[data-ti="${DAG_ID}|run_1|train_model"]`).waitFor();
    expect(await page.locator('.card[data-total="deferred_now"] .value').textContent()).toBe('1');
    expect(await page.locator('.deferrals').textContent()).toContain('training job train-run-1');
    await page.screenshot({ path: join(ARTIFACTS, 'deferrals.png') });

    await page.goto(`${ws.url}/#/dags/${DAG_ID}/grid/run_1`);
    await until(async () => (await bg('run_1', 'train_model')) === PURPLE, 'back on the grid: purple');
    await d.resumeAndFinish(triggerId);
    await until(async () => (await bg('run_1', 'train_model')) === GREEN, 'train_model green after resume');
    // the deferrals page emptied live
    await page.goto(`${ws.url}/#/deferrals`);
    await until(async () => ((await page.locator('.deferrals').textContent()) ?? '').includes('Nothing is deferred'), 'deferrals emptied');
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  }, 180_000);

  it('graph view colours nodes by state; the Gantt grows while a task runs', async () => {
    const running = await d.start(DAG_ID, 'run_1', 'evaluate');
    await page.goto(`${ws.url}/#/dags/${DAG_ID}/graph/run_1`);
    const node = page.locator('svg.graph g.node[data-task="train_model"] rect');
    await node.waitFor();
    expect(await node.getAttribute('fill')).toBe('green');
    expect(await page.locator('svg.graph g.node[data-task="evaluate"] rect').getAttribute('fill')).toBe('lime');
    expect(await page.locator('svg.graph path.edge').count()).toBe(3);
    await page.screenshot({ path: join(ARTIFACTS, 'graph.png') });

    await page.goto(`${ws.url}/#/dags/${DAG_ID}/gantt/run_1`);
    const bar = page.locator('svg.gantt g.gantt-row[data-task="evaluate"] rect[data-segment="running"]');
    await bar.waitFor();
    // evaluate runs on: its bar extends to now, so the axis rescales and where the bar starts moves
    // left (bar positions, not the widths of tiny early bars, which are clamped to a 2 px minimum)
    const x0 = Number(await bar.getAttribute('x'));
    await until(async () => Number(await bar.getAttribute('x')) < x0, 'gantt rescales as the running bar grows', 45_000);
    expect(await page.locator('svg.gantt g.gantt-row[data-task="train_model"] rect').count()).toBeGreaterThan(0);
    expect(await page.locator('svg.gantt g.gantt-row[data-task="publish_report"] rect').count()).toBe(0);
    await d.finish(running);
  }, 180_000);

  it('triggers a run with conf from the form and marks a task failed from the panel', async () => {
    await page.goto(`${ws.url}/#/dags/${DAG_ID}/grid`);
    await page.locator('.trigger-btn').click();
    await page.locator('.trigger-form textarea[name="conf"]').fill('{"epochs": 9, "instance_type": "ml.m5.large"}');
    await page.locator('.trigger-form input[name="dag_run_id"]').fill('from_the_ui');
    await page.locator('.trigger-form button[type="submit"]').click();
    await until(async () => (await store.dagRuns.findOne({ run_id: 'from_the_ui' })) !== null, 'run created');
    const run = (await store.dagRuns.findOne({ run_id: 'from_the_ui' }))!;
    expect(JSON.parse(run.conf)).toEqual({ epochs: 9, instance_type: 'ml.m5.large' });
    expect(run.state).toBe('queued');

    // bad JSON is refused in the form, with a message
    await page.locator('.trigger-btn').click();
    await page.locator('.trigger-form textarea[name="conf"]').fill('{nope');
    await page.locator('.trigger-form button[type="submit"]').click();
    expect(await page.locator('.trigger-form .form-error').textContent()).toMatch(/Configuration/);

    // the scheduler creates the run's task instances; the grid picks them up live
    await d.tis.createForRun(
      run,
      dag.tasks.map((t) => ({ task_id: t.task_id, operator: t.operator, queue: 'default', priority_weight: 1, retries: t.retries })),
    );
    await d.runs.start(run._id);
    await d.tis.schedule(taskInstanceId(DAG_ID, 'from_the_ui', 'prepare_data'));
    await until(async () => (await cell('from_the_ui', 'prepare_data').count()) === 1, 'new run column');
    await cell('from_the_ui', 'prepare_data').click();
    await page.locator('.ti-panel button[data-action="mark-failed"]').click();
    await until(
      async () => (await store.taskInstances.findOne({ _id: taskInstanceId(DAG_ID, 'from_the_ui', 'prepare_data') }))!.state === 'failed',
      'marked failed',
    );
    await until(async () => (await bg('from_the_ui', 'prepare_data')) === RED, 'cell turns red');
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
