/**
 * The pages issue 13 added, in headless Chromium against a real webserver: the SageMaker
 * tutorial's steps 4–5 done in the browser (variables `role` and `s3_bucket`; connection
 * `aws-sagemaker` with `aws_session_token` in extra) with secrets never reaching the page; variable
 * import, edit and delete; Browse → DAG runs / task instances ("Deferred now") / audit log; the
 * typed trigger form with a date-only logical date; a finished task's deferral window on the Gantt
 * after a reload, and in its try history; the deferrals page's triggerer, job status and link.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { Browser, Page } from 'playwright-core';
import { startWebserver, type RunningWebserver } from '../../src/api/server.ts';
import { StateChangeBus } from '../../src/store/state-change-bus.ts';
import { ConnectionRepository } from '../../src/connections/connection-repository.ts';
import type { Store } from '../../src/store/store.ts';
import type { DagDoc } from '../../src/store/schema.ts';
import { Driver, closeTestStore, openTestStore, seedDag } from '../api/helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
if (!HAVE_CHROMIUM) console.warn(`[test/ui] skipping browser tests: ${CHROMIUM} not found (apt-get install -y chromium)`);

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE-session-token-value';

describe.skipIf(!HAVE_CHROMIUM)('Admin and Browse pages (headless Chromium)', () => {
  let store: Store;
  let ws: RunningWebserver;
  let browser: Browser;
  let page: Page;
  let d: Driver;
  let dag: DagDoc;
  const pageErrors: string[] = [];
  const bodies: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    store = await openTestStore('ui_admin');
    const bus = new StateChangeBus();
    d = new Driver(store, bus);
    dag = await seedDag(
      store,
      'sagemaker_pipeline',
      { prepare_data: ['train_model'], train_model: [] },
      {
        params: JSON.stringify({
          epochs: 3,
          instance_type: {
            __class: 'airflow.models.param.Param',
            value: 'ml.m5.large',
            description: 'SageMaker instance type',
            schema: { type: 'string', enum: ['ml.m5.large', 'ml.c5.xlarge'] },
          },
          dry_run: false,
        }),
      },
    );
    ws = await startWebserver({ store, bus, port: 0, livePollMs: 200, metricsRegistry: new Registry() });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('dialog', (dlg) => void dlg.accept());
    // Everything the API sends the browser, to prove no secret is ever in it.
    page.on('response', async (r) => {
      if (r.url().includes('/api/v1/') && !r.url().includes('/events')) bodies.push(await r.text().catch(() => ''));
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await ws?.close();
    if (store) await closeTestStore(store);
  });

  async function until(fn: () => Promise<boolean>, what: string, ms = 45_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('does the tutorial’s step 4 in the browser: variables role and s3_bucket; edits, deletes and imports', async () => {
    await page.goto(`${ws.url}/#/admin/variables`);
    for (const [key, value] of [
      ['role', 'arn:aws:iam::123456789012:role/SageMakerExecutionRole'],
      ['s3_bucket', 'my-sagemaker-bucket'],
    ]) {
      await page.locator('[data-action="add-variable"]').click();
      await page.locator('.variable-form input[name="key"]').fill(key!);
      await page.locator('.variable-form textarea[name="value"]').fill(value!);
      await page.locator('.variable-form button[type="submit"]').click();
      await page.locator(`tr[data-key="${key}"]`).waitFor();
    }
    expect((await store.variables.findOne({ _id: 'role' }))!.val).toBe('arn:aws:iam::123456789012:role/SageMakerExecutionRole');
    // The list shows keys, never values.
    expect(await page.locator('table.variables').textContent()).not.toContain('my-sagemaker-bucket');
    // Edit: the value is fetched for the form only.
    await page.locator('tr[data-key="s3_bucket"] [data-action="edit"]').click();
    expect(await page.locator('.variable-form textarea[name="value"]').inputValue()).toBe('my-sagemaker-bucket');
    await page.locator('.variable-form textarea[name="value"]').fill('other-bucket');
    await page.locator('.variable-form button[type="submit"]').click();
    await until(async () => (await store.variables.findOne({ _id: 's3_bucket' }))?.val === 'other-bucket', 'the edit saved');
    // Import Airflow's export format, then delete one.
    await page.locator('[data-action="import-variables"]').click();
    await page.locator('.import-form textarea[name="import"]').fill('{"region": "us-east-1", "retries": 3}');
    await page.locator('.import-form button[type="submit"]').click();
    await until(async () => ((await page.locator('.import-result').textContent()) ?? '').includes('created 2'), 'import result');
    expect((await store.variables.findOne({ _id: 'retries' }))!.val).toBe('3');
    await page.locator('tr[data-key="region"] [data-action="delete"]').click();
    await until(async () => (await store.variables.countDocuments({ _id: 'region' })) === 0, 'deleted');
    await page.screenshot({ path: join(ARTIFACTS, 'admin-variables.png') });
  }, 180_000);

  it('does step 5 in the browser: connection aws-sagemaker with aws_session_token in extra, secrets never sent back', async () => {
    await page.goto(`${ws.url}/#/admin/connections`);
    await page.locator('[data-action="add-connection"]').click();
    const f = page.locator('.connection-form');
    await f.locator('input[name="connection_id"]').fill('aws-sagemaker');
    await f.locator('input[name="conn_type"]').fill('aws');
    await f.locator('input[name="login"]').fill('AKIAIOSFODNN7EXAMPLE');
    await f.locator('input[name="password"]').fill(SECRET_KEY);
    await f.locator('textarea[name="extra"]').fill(JSON.stringify({ region_name: 'us-east-1', aws_session_token: SESSION_TOKEN }));
    await f.locator('button[type="submit"]').click();
    await page.locator('tr[data-conn-id="aws-sagemaker"]').waitFor();
    expect(await page.locator('tr[data-conn-id="aws-sagemaker"]').textContent()).toContain('set');
    // Edit something else: the form shows no secret, and saving keeps them.
    await page.locator('tr[data-conn-id="aws-sagemaker"] [data-action="edit"]').click();
    expect(await f.locator('input[name="password"]').inputValue()).toBe('');
    const extraShown = await f.locator('textarea[name="extra"]').inputValue();
    expect(extraShown).toContain('"aws_session_token": "***"');
    expect(extraShown).not.toContain(SESSION_TOKEN);
    await f.locator('input[name="description"]').fill('SageMaker tutorial');
    await f.locator('button[type="submit"]').click();
    await until(async () => (await store.connections.findOne({ _id: 'aws-sagemaker' }))?.description === 'SageMaker tutorial', 'edit saved');
    const stored = (await new ConnectionRepository(store).get('aws-sagemaker'))!;
    expect(stored.password).toBe(SECRET_KEY);
    expect(JSON.parse(stored.extra!)).toEqual({ region_name: 'us-east-1', aws_session_token: SESSION_TOKEN });
    // Nothing the API sent the browser held a secret, and neither does the page.
    const seen = `${bodies.join('\n')}\n${await page.content()}`;
    expect(seen).not.toContain(SECRET_KEY);
    expect(seen).not.toContain(SESSION_TOKEN);
    await page.screenshot({ path: join(ARTIFACTS, 'admin-connections.png') });
  }, 180_000);

  it('triggers from the typed params form with a date-only logical date', async () => {
    await page.goto(`${ws.url}/#/dags/sagemaker_pipeline/grid`);
    await page.locator('.trigger-btn').click();
    const form = page.locator('.trigger-form');
    await form.locator('[data-param="epochs"] input[type="number"]').fill('7');
    expect(await form.locator('[data-param="instance_type"] select option').allTextContents()).toEqual(['ml.m5.large', 'ml.c5.xlarge']);
    expect(await form.locator('[data-param="instance_type"]').textContent()).toContain('SageMaker instance type');
    await form.locator('[data-param="instance_type"] select').selectOption({ label: 'ml.c5.xlarge' });
    await form.locator('[data-param="dry_run"] input[type="checkbox"]').check();
    expect(JSON.parse(await form.locator('textarea[name="conf"]').inputValue())).toEqual({ epochs: 7, instance_type: 'ml.c5.xlarge', dry_run: true });
    await form.locator('input[name="logical_date"]').fill('2025-04-09');
    await form.locator('input[name="dag_run_id"]').fill('typed_form');
    await page.screenshot({ path: join(ARTIFACTS, 'trigger-form.png') });
    await form.locator('button[type="submit"]').click();
    await until(async () => (await store.dagRuns.countDocuments({ run_id: 'typed_form' })) === 1, 'the run');
    const run = (await store.dagRuns.findOne({ run_id: 'typed_form' }))!;
    expect(run.logical_date.toISOString()).toBe('2025-04-09T00:00:00.000Z');
    expect(JSON.parse(run.conf)).toEqual({ epochs: 7, instance_type: 'ml.c5.xlarge', dry_run: true });
  }, 180_000);

  it('keeps a finished task’s deferral window on the Gantt after a reload, and in its try history', async () => {
    await d.createRun(dag, 'run_g', new Date('2025-05-01T00:00:00Z'));
    await d.run('sagemaker_pipeline', 'run_g', 'prepare_data');
    const { triggerId } = await d.defer('sagemaker_pipeline', 'run_g', 'train_model', 'knn-iris-1');
    await new Promise((r) => setTimeout(r, 300)); // a visible deferral
    await d.resumeAndFinish(triggerId);
    // A fresh tab: nothing seen live, only what the store keeps.
    const fresh = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await fresh.goto(`${ws.url}/#/dags/sagemaker_pipeline/gantt/run_g`);
      const deferred = fresh.locator('svg.gantt g.gantt-row[data-task="train_model"] rect[data-segment="deferred"]');
      await deferred.waitFor();
      expect(await deferred.getAttribute('fill')).toBe('mediumpurple');
      await fresh.reload();
      await deferred.waitFor();
      expect(await fresh.locator('svg.gantt g.gantt-row[data-task="train_model"] rect[data-segment="success"]').count()).toBeGreaterThan(0);
      await fresh.screenshot({ path: join(ARTIFACTS, 'gantt-after-reload.png') });
      // The panel's Tries tab: the try and the window, with what it waited on.
      // The task's link opens its panel (the Gantt repaints on live changes, so no click on a bar).
      await fresh.goto(`${ws.url}/#/dags/sagemaker_pipeline/gantt/run_g/train_model`);
      await fresh.locator('.ti-panel [data-tab="tries"]').click();
      await fresh.locator('.ti-panel table.deferral-windows').waitFor();
      const text = (await fresh.locator('.ti-panel .tries').textContent()) ?? '';
      expect(text).toContain('training job knn-iris-1');
      expect(text).toContain('event');
      expect(await fresh.locator('.ti-panel .try-history-select option').allTextContents()).toEqual(['Try 1: success']);
    } finally {
      await fresh.close();
    }
  }, 180_000);

  it('browses task instances (Deferred now), DAG runs and the audit log', async () => {
    await d.createRun(dag, 'run_b', new Date('2025-05-02T00:00:00Z'));
    await d.run('sagemaker_pipeline', 'run_b', 'prepare_data');
    await d.defer('sagemaker_pipeline', 'run_b', 'train_model', 'knn-iris-2');
    await page.goto(`${ws.url}/#/browse/task-instances`);
    await page.locator('[data-role="deferred-now"]').click();
    await page.locator('tr[data-ti="sagemaker_pipeline|run_b|train_model"]').waitFor();
    expect(await page.locator('table.task-instances tbody tr').count()).toBe(1);
    expect(await page.locator('table.task-instances').textContent()).toContain('training job knn-iris-2');
    await page.screenshot({ path: join(ARTIFACTS, 'browse-deferred-now.png') });

    await page.goto(`${ws.url}/#/browse/dag-runs?state=running`);
    await page.locator('tr[data-run="sagemaker_pipeline|run_b"]').waitFor();
    expect(await page.locator('tr[data-run="sagemaker_pipeline|typed_form"]').count()).toBe(0);

    await page.goto(`${ws.url}/#/browse/audit-log`);
    await page.locator('tr[data-event="connection.update"]').waitFor();
    const log = (await page.locator('table.audit-log').textContent()) ?? '';
    for (const e of ['variable.create', 'variable.update', 'variable.import', 'variable.delete', 'connection.create', 'trigger']) expect(log).toContain(e);
    expect(log).toContain('anonymous');
    expect(log).not.toContain(SECRET_KEY);
    await page.goto(`${ws.url}/#/browse/audit-log?event=trigger`);
    await page.locator('tr[data-event="trigger"]').waitFor();
    expect(await page.locator('table.audit-log tbody tr').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'audit-log.png') });
  }, 180_000);

  it('shows each deferral’s triggerer, the job’s last status and links to the task panel', async () => {
    const trigger = (await store.triggers.findOne({ run_id: 'run_b' }))!;
    await store.jobs.insertOne({
      _id: 'job-triggerer-1',
      job_type: 'TriggererJob',
      hostname: 'vm-7',
      pid: 4242,
      state: 'running',
      start_date: new Date(),
      end_date: null,
      latest_heartbeat: new Date(),
      capacity: 1000,
      load: 1,
    });
    // As a triggerer claims it and records what SageMaker said (scale-trig's fields).
    await store.triggers.updateOne(
      { _id: trigger._id },
      {
        $set: {
          triggerer_id: 'job-triggerer-1',
          claimed_at: new Date(),
          last_status: 'InProgress',
          last_secondary_status: 'Training',
          last_seen_at: new Date(),
        },
      },
    );
    await page.goto(`${ws.url}/#/deferrals`);
    const row = page.locator('.deferrals tr[data-ti="sagemaker_pipeline|run_b|train_model"]');
    await row.waitFor();
    expect(await row.locator('.job-status-cell').textContent()).toContain('InProgress (Training)');
    expect(await row.locator('.triggerer-cell').textContent()).toContain('vm-7 pid 4242');
    expect(await page.locator('.card[data-total="events"] .value').textContent()).toBe('0 / 0 / 0');
    await page.screenshot({ path: join(ARTIFACTS, 'deferrals-status.png') });
    // The row's link goes to the task instance panel of its run (followed by address: the page repaints live).
    const href = (await row.locator('a').first().getAttribute('href'))!;
    expect(href).toBe('#/dags/sagemaker_pipeline/grid/run_b/train_model');
    await page.goto(`${ws.url}/${href}`);
    await page.locator('.ti-panel').waitFor();
    expect(await page.locator('.ti-panel').textContent()).toContain('InProgress (Training)');
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
