/**
 * Issue 7's "done when": the seed pipeline (dags/sagemaker_pipeline.ts) runs for real — embedded
 * stack in this process, local AWS running KNN, EventBridge → SQS → triggerer — while headless
 * Chromium watches the UI. The run is triggered from the UI's trigger-with-conf form; without a
 * reload the grid shows train_model deferred (mediumpurple), the Deferrals page lists the training
 * job, every cell turns success green, evaluate's log shows the accuracy, and the graph and Gantt
 * render the finished run. Screenshots go to test/artifacts/seed-*.png (the README's grid screenshot
 * is taken from here). Skipped only when Chromium (CHROMIUM_PATH, default /usr/bin/chromium) is absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, collectPageErrors, HAVE_CHROMIUM } from '../support/browser.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../src/standalone/embedded-stack.ts';
import { STATE_COLORS } from '../../src/ui/app/state-colors.ts';
import type { DagRunDoc } from '../../src/store/schema.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const DAG_ID = 'sagemaker_pipeline';
const TASKS = ['data_prep', 'train_model', 'create_model', 'test_model', 'evaluate'];
const CONF = { note: 'from the browser' };
/** Long enough that the deferred state is on screen for seconds, short enough for CI. */
const JOB_DURATION_MS = 8000;
if (!HAVE_CHROMIUM) console.warn(`[test/ui] skipping the seed pipeline browser test: ${CHROMIUM} not found (apt-get install -y chromium)`);

/** A fresh database on the test server: MONGODB_URI with its path replaced. */
function freshDatabaseUri(): string {
  const u = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017');
  u.pathname = `/deferflow_test_seed_ui_${randomUUID().slice(0, 8)}`;
  return u.toString();
}

describe.skipIf(!HAVE_CHROMIUM)('the seed pipeline, live in the browser', () => {
  let home: string;
  let profile: string;
  let stack: EmbeddedStack;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    home = mkdtempSync(join(tmpdir(), 'deferflow-seed-ui-home-'));
    profile = mkdtempSync(join(tmpdir(), 'deferflow-seed-ui-chromium-'));
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    stack = await startEmbeddedStack({
      logger: pino({ level: 'warn' }),
      mongoUri: freshDatabaseUri(),
      home,
      dagsFolder: join(ROOT, 'dags'),
      localAws: { faults: { jobDurationMs: JOB_DURATION_MS } },
      stageDelayMs: 200,
      webserver: { port: 0 },
      writeState: false,
      pollMs: 100,
    });
    expect(stack.runtime.dagBag.getDag(DAG_ID), JSON.stringify(stack.runtime.dagBag.importErrors)).toBeTruthy();
    const { chromium } = await import('playwright-core');
    // A persistent context on an empty profile directory: nothing carried over from other runs.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 820 },
      args: CHROMIUM_ARGS,
    });
    page = context.pages()[0] ?? (await context.newPage());
    collectPageErrors(page, pageErrors);
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (stack) {
      await stack.store.dropDatabase().catch(() => {});
      await stack.stop();
    }
    for (const dir of [home, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const cell = (runId: string, taskId: string) => page.locator(`.ti-cell[data-ti="${runId}|${taskId}"]`);
  const bg = async (runId: string, taskId: string): Promise<string | null> => {
    const c = cell(runId, taskId);
    return (await c.count()) ? c.evaluate((el) => getComputedStyle(el).backgroundColor) : null;
  };
  /** A CSS colour name as the browser computes it, e.g. 'green' → 'rgb(0, 128, 0)'. */
  const computed = (color: string) =>
    page.evaluate((c) => {
      const probe = document.createElement('span');
      probe.style.color = c;
      document.body.append(probe);
      const v = getComputedStyle(probe).color;
      probe.remove();
      return v;
    }, color);
  async function until(fn: () => Promise<boolean>, what: string, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > end) {
        const states = await stack.store.taskInstances.find({ dag_id: DAG_ID }).toArray();
        throw new Error(`timed out: ${what} (task states: ${states.map((t) => `${t.task_id}=${t.state}`).join(', ')})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('is triggered from the form, goes deferred then green without a reload, and shows log, graph and Gantt', async () => {
    // The UI's colours are Airflow's: deferred = mediumpurple, success = green.
    expect(STATE_COLORS.deferred).toBe('mediumpurple');
    expect(STATE_COLORS.success).toBe('green');

    await page.goto(`${stack.webserverUrl}/#/dags/${DAG_ID}/grid`);
    await page.locator('.trigger-btn').waitFor();
    await page.waitForSelector('#live-status.ok');
    const purple = await computed(STATE_COLORS.deferred!);
    const green = await computed(STATE_COLORS.success!);
    expect(purple).toBe('rgb(147, 112, 219)');
    expect(green).toBe('rgb(0, 128, 0)');
    // Survives only as long as the document does: any reload or full navigation drops it.
    await page.evaluate(() => ((window as unknown as { __marker: number }).__marker = 1));

    // Trigger with conf from the form.
    await page.locator('.trigger-btn').click();
    const confBox = page.locator('.trigger-form textarea[name="conf"]');
    expect(JSON.parse(await confBox.inputValue())).toHaveProperty('data_url'); // prefilled from the DAG's params
    await confBox.fill(JSON.stringify(CONF));
    await page.locator('.trigger-form button[type="submit"]').click();
    let run: DagRunDoc | null = null;
    await until(async () => (run = await stack.store.dagRuns.findOne({ dag_id: DAG_ID })) !== null, 'run created from the form', 45_000);
    const runId = run!.run_id;
    expect(runId).toMatch(/^manual__/);
    expect(JSON.parse(run!.conf)).toEqual(CONF);
    await page.locator('.trigger-form').waitFor({ state: 'detached' });
    await page.locator('.run-info code.conf-inline').filter({ hasText: 'from the browser' }).waitFor();

    // The scheduler's task instances appear as a column; data_prep runs, train_model defers.
    await until(async () => (await cell(runId, 'train_model').count()) === 1, 'the run column appears', 45_000);
    expect(await page.locator(`.ti-cell[data-ti^="${runId}|"]`).count()).toBe(TASKS.length);
    await until(async () => (await bg(runId, 'train_model')) === purple, 'train_model deferred (mediumpurple)', 60_000);
    expect(await bg(runId, 'data_prep')).toBe(green);

    // The panel of the deferred task: what it waits on.
    await cell(runId, 'train_model').click();
    const panel = page.locator('.ti-panel');
    await panel.locator('.badge[data-state="deferred"]').waitFor();
    expect(await panel.textContent()).toMatch(/knn-iris-\d{8}T\d{6}/);
    await until(async () => /deferring until it ends/.test((await panel.locator('pre.log').textContent()) ?? ''), 'train_model log shows the deferral', 45_000);
    // The try's duration keeps counting while it waits (deferral counts towards execution_timeout).
    const shown = await panel.locator('.ti-duration').textContent();
    expect(shown).toMatch(/so far$/);
    await until(async () => (await panel.locator('.ti-duration').textContent()) !== shown, 'duration ticks while deferred', 30_000);
    await page.screenshot({ path: join(ARTIFACTS, 'seed-grid-deferred.png') });

    // Deferrals page by the nav link (client-side routing): the training job is listed.
    await page.locator('nav a[data-nav="deferrals"]').click();
    const row = page.locator(`.deferrals tr[data-ti="${DAG_ID}|${runId}|train_model"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toMatch(/knn-iris-\d{8}T\d{6}/);
    expect(Number(await page.locator('.card[data-total="deferred_now"] .value').textContent())).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: join(ARTIFACTS, 'seed-deferrals.png') });

    // Back to the grid: every task ends success green, repainted live.
    await page.goBack();
    await cell(runId, 'train_model').waitFor();
    await until(async () => (await Promise.all(TASKS.map((t) => bg(runId, t)))).every((c) => c === green), 'every task success (green)', 90_000);
    await until(async () => (await page.locator('.run-info .run-state').getAttribute('data-state')) === 'success', 'run shown as success', 45_000);
    expect((await stack.store.dagRuns.findOne({ _id: run!._id }))!.state).toBe('success');

    // evaluate's log in the task panel carries the accuracy.
    await cell(runId, 'evaluate').click();
    await panel.locator('.badge[data-state="success"]').waitFor();
    await until(
      async () => /model accuracy on the held-out set: \d+\.\d%/.test((await panel.locator('pre.log').textContent()) ?? ''),
      'accuracy line in the evaluate log',
      45_000,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'seed-grid-success.png') });

    // Graph view (tab link, no reload): every node green.
    await page.locator('nav.tabs a[data-view="graph"]').click();
    await page.locator('svg.graph g.node rect').first().waitFor();
    expect(await page.locator('svg.graph g.node').count()).toBe(TASKS.length);
    for (const t of TASKS) expect(await page.locator(`svg.graph g.node[data-task="${t}"] rect`).getAttribute('fill')).toBe(STATE_COLORS.success);
    expect(await page.locator('svg.graph path.edge').count()).toBe(TASKS.length - 1);
    await page.screenshot({ path: join(ARTIFACTS, 'seed-graph.png') });

    // Gantt: a bar for every task, the SageMaker tasks with their deferred (purple) part.
    await page.locator('nav.tabs a[data-view="gantt"]').click();
    await page.locator('svg.gantt').waitFor();
    for (const t of TASKS) expect(await page.locator(`svg.gantt g.gantt-row[data-task="${t}"] rect`).count(), t).toBeGreaterThan(0);
    for (const t of ['train_model', 'test_model'])
      expect(await page.locator(`svg.gantt g.gantt-row[data-task="${t}"] rect[data-segment="deferred"]`).getAttribute('fill')).toBe(STATE_COLORS.deferred);
    await page.screenshot({ path: join(ARTIFACTS, 'seed-gantt.png') });

    expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
