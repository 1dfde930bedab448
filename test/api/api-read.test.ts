/**
 * Read side of the REST API against real FerretDB: Airflow's collection shapes, pagination and
 * order_by, 400s naming the bad field, 404 problem+json, logs with continuation tokens, XCom,
 * triggers, OpenAPI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer } from '../../src/api/server.ts';
import type { Store } from '../../src/store/store.ts';
import { Driver, closeTestStore, openTestStore, seedDag, taskInstanceId } from './helpers.ts';

let store: Store;
let app: FastifyInstance;
let d: Driver;

beforeAll(async () => {
  store = await openTestStore('api_read');
  d = new Driver(store);
  const etl = await seedDag(store, 'etl', { extract: ['train'], train: ['report'], report: [] });
  await seedDag(store, 'other', { only: [] }, { is_paused: true, tags: ['nightly'] });
  await seedDag(store, 'gone', { only: [] }, { is_active: false });
  await d.createRun(etl, 'run_1', new Date('2025-01-01T00:00:00Z'), { lr: 0.1 });
  for (const t of ['extract', 'train', 'report']) await d.run('etl', 'run_1', t);
  await d.createRun(etl, 'run_2', new Date('2025-01-02T00:00:00Z'));
  await d.run('etl', 'run_2', 'extract');
  await d.defer('etl', 'run_2', 'train', 'job-2');
  await d.createRun(etl, 'run_3', new Date('2025-01-03T00:00:00Z'));
  await d.log({ _id: taskInstanceId('etl', 'run_1', 'extract'), dag_id: 'etl', run_id: 'run_1', task_id: 'extract' }, 1, [
    'line one',
    'line two',
    'line three',
  ]);
  await store.xcom.insertOne({
    _id: `${taskInstanceId('etl', 'run_1', 'extract')}|return_value`,
    dag_id: 'etl',
    run_id: 'run_1',
    task_id: 'extract',
    map_index: -1,
    key: 'return_value',
    value: JSON.stringify({ rows: 42, 'a.b': [[1]] }),
    timestamp: new Date(),
  });
  await store.importErrors.insertOne({
    _id: '/dags/broken.ts',
    filename: '/dags/broken.ts',
    stacktrace: 'SyntaxError: Unexpected token (3:7)',
    timestamp: new Date(),
  });
  app = await buildServer({ store, metricsRegistry: new Registry() });
});

afterAll(async () => {
  await app?.close();
  await closeTestStore(store);
});

const get = async (url: string) => {
  const r = await app.inject({ method: 'GET', url });
  return { status: r.statusCode, type: String(r.headers['content-type']), body: r.body ? (r.json() as Record<string, any>) : {} };
};

describe('dags', () => {
  it('lists active DAGs in Airflow shape with total_entries', async () => {
    const r = await get('/api/v1/dags');
    expect(r.status).toBe(200);
    expect(r.body.total_entries).toBe(2);
    expect(r.body.dags.map((x: { dag_id: string }) => x.dag_id)).toEqual(['etl', 'other']);
    const etl = r.body.dags[0];
    expect(etl).toMatchObject({
      dag_id: 'etl',
      is_paused: false,
      is_active: true,
      owners: ['ml'],
      tags: [{ name: 'test' }],
      schedule_interval: null,
      fileloc: '/dags/etl.ts',
    });
    expect(etl.timetable_description).toMatch(/Never/);
  });

  it('filters by paused, tags and id pattern; only_active=false shows inactive ones', async () => {
    expect((await get('/api/v1/dags?paused=true')).body.dags.map((x: { dag_id: string }) => x.dag_id)).toEqual(['other']);
    expect((await get('/api/v1/dags?tags=nightly')).body.total_entries).toBe(1);
    expect((await get('/api/v1/dags?dag_id_pattern=ET')).body.dags[0].dag_id).toBe('etl');
    expect((await get('/api/v1/dags?only_active=false')).body.total_entries).toBe(3);
  });

  it('paginates with limit/offset and orders with order_by (- for descending)', async () => {
    const page = await get('/api/v1/dags?limit=1&offset=1&order_by=-dag_id');
    expect(page.body.total_entries).toBe(2);
    expect(page.body.dags.map((x: { dag_id: string }) => x.dag_id)).toEqual(['etl']);
  });

  it('rejects a bad limit and an unknown order_by with a 400 naming the field', async () => {
    const r = await get('/api/v1/dags?limit=1000');
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/problem+json');
    expect(r.body).toMatchObject({ status: 400, title: 'Invalid input', type: expect.stringContaining('invalid-input') });
    expect(r.body.detail).toMatch(/limit/);
    expect(r.body.issues[0].path).toBe('limit');
    const o = await get('/api/v1/dags?order_by=nope');
    expect(o.status).toBe(400);
    expect(o.body.detail).toMatch(/Ordering with 'nope' is disallowed/);
    const b = await get('/api/v1/dags?paused=maybe');
    expect(b.status).toBe(400);
    expect(b.body.issues[0].path).toBe('paused');
  });

  it('gets one DAG, 404 problem+json for an unknown one', async () => {
    expect((await get('/api/v1/dags/etl')).body.dag_id).toBe('etl');
    const r = await get('/api/v1/dags/nope');
    expect(r.status).toBe(404);
    expect(r.type).toContain('application/problem+json');
    expect(r.body).toMatchObject({
      status: 404,
      title: 'DAG not found',
      type: expect.stringMatching(/dag-not-found$/),
      detail: "DAG with dag_id: 'nope' not found",
    });
  });

  it('lists tasks with their dependencies', async () => {
    const r = await get('/api/v1/dags/etl/tasks');
    expect(r.body.total_entries).toBe(3);
    expect(r.body.tasks[1]).toMatchObject({
      task_id: 'train',
      operator_name: 'SageMakerTrainingOperator',
      upstream_task_ids: ['extract'],
      downstream_task_ids: ['report'],
      retries: 1,
      template_fields: ['config'],
    });
    expect((await get('/api/v1/dags/etl/tasks/nope')).status).toBe(404);
  });
});

describe('dagRuns', () => {
  it('lists runs with Airflow fields, ordered and filtered', async () => {
    const r = await get('/api/v1/dags/etl/dagRuns?order_by=-logical_date');
    expect(r.body.total_entries).toBe(3);
    expect(r.body.dag_runs.map((x: { dag_run_id: string }) => x.dag_run_id)).toEqual(['run_3', 'run_2', 'run_1']);
    const run1 = r.body.dag_runs[2];
    expect(run1).toMatchObject({
      dag_id: 'etl',
      dag_run_id: 'run_1',
      logical_date: '2025-01-01T00:00:00.000Z',
      execution_date: '2025-01-01T00:00:00.000Z',
      state: 'running',
      run_type: 'manual',
      conf: { lr: 0.1 },
      external_trigger: true,
    });
    const f = await get('/api/v1/dags/etl/dagRuns?logical_date_gte=2025-01-02T00:00:00Z&limit=1');
    expect(f.body.total_entries).toBe(2);
    expect(f.body.dag_runs).toHaveLength(1);
    expect((await get('/api/v1/dags/~/dagRuns')).body.total_entries).toBe(3);
  });

  it('400 for a malformed date filter, 404 for an unknown run', async () => {
    const r = await get('/api/v1/dags/etl/dagRuns?logical_date_gte=yesterday');
    expect(r.status).toBe(400);
    expect(r.body.issues[0].path).toBe('logical_date_gte');
    const n = await get('/api/v1/dags/etl/dagRuns/nope');
    expect(n.status).toBe(404);
    expect(n.body.title).toBe('DAG run not found');
  });
});

describe('taskInstances', () => {
  it('lists a run with states, try numbers and the trigger of a deferred task', async () => {
    const r = await get('/api/v1/dags/etl/dagRuns/run_2/taskInstances');
    expect(r.body.total_entries).toBe(3);
    const byId = Object.fromEntries(r.body.task_instances.map((t: { task_id: string }) => [t.task_id, t]));
    expect(byId.extract).toMatchObject({ state: 'success', try_number: 1, dag_run_id: 'run_2', hostname: 'test-host', pool: 'default_pool' });
    expect(byId.train.state).toBe('deferred');
    expect(byId.train.trigger).toMatchObject({
      kind: 'aws.SageMakerJobTrigger',
      description: 'training job job-2',
      triggerer_id: null,
    });
    // Airflow's Trigger.kwargs is JSON text (its Python client types it as a string).
    expect(JSON.parse(byId.train.trigger.kwargs)).toMatchObject({ job_name: 'job-2' });
    expect(byId.train.next_method).toBe('execute_complete');
    expect(byId.report.state).toBeNull();
  });

  it('filters by state (none = not scheduled) across runs with ~', async () => {
    const r = await get('/api/v1/dags/~/dagRuns/~/taskInstances?state=success&order_by=-end_date');
    expect(r.body.total_entries).toBe(4);
    const none = await get('/api/v1/dags/etl/dagRuns/~/taskInstances?state=none');
    expect(none.body.total_entries).toBe(4);
    expect((await get('/api/v1/dags/etl/dagRuns/run_2/taskInstances?state=bogus')).status).toBe(400);
  });

  it('gets one task instance with rendered fields; 404 for unknown', async () => {
    const r = await get('/api/v1/dags/etl/dagRuns/run_1/taskInstances/train');
    expect(r.body).toMatchObject({ task_id: 'train', state: 'success', rendered_fields: { config: 'rendered for run_1' } });
    expect((await get('/api/v1/dags/etl/dagRuns/run_1/taskInstances/nope')).status).toBe(404);
  });

  it('serves logs as JSON with a continuation token for tailing, or as text', async () => {
    const base = '/api/v1/dags/etl/dagRuns/run_1/taskInstances/extract/logs/1';
    const first = await get(base);
    expect(first.body.content.split('\n')).toHaveLength(3);
    expect(first.body.content).toMatch(/\{INFO\} line one/);
    const empty = await get(`${base}?token=${first.body.continuation_token}`);
    expect(empty.body.content).toBe('');
    await d.log({ _id: taskInstanceId('etl', 'run_1', 'extract'), dag_id: 'etl', run_id: 'run_1', task_id: 'extract' }, 1, ['line four'], 3);
    const more = await get(`${base}?token=${first.body.continuation_token}`);
    expect(more.body.content).toMatch(/line four$/);
    expect(more.body.lines).toHaveLength(1);
    const text = await app.inject({ method: 'GET', url: base, headers: { accept: 'text/plain' } });
    expect(text.headers['content-type']).toContain('text/plain');
    expect(text.body.trim().split('\n')).toHaveLength(4);
    expect((await get(`${base}?token=garbage`)).status).toBe(400);
  });

  it('lists XCom entries and returns a value parsed', async () => {
    const base = '/api/v1/dags/etl/dagRuns/run_1/taskInstances/extract/xcomEntries';
    const list = await get(base);
    expect(list.body).toMatchObject({ total_entries: 1, xcom_entries: [{ key: 'return_value', task_id: 'extract', dag_id: 'etl' }] });
    expect(list.body.xcom_entries[0].value).toBeUndefined();
    expect((await get(`${base}/return_value`)).body.value).toEqual({ rows: 42, 'a.b': [[1]] });
    expect((await get(`${base}/missing`)).status).toBe(404);
  });
});

describe('other collections', () => {
  it('import errors, triggers, health and 404 for unknown routes', async () => {
    expect((await get('/api/v1/importErrors')).body.import_errors[0]).toMatchObject({
      filename: '/dags/broken.ts',
      stack_trace: expect.stringContaining('SyntaxError'),
    });
    const t = await get('/api/v1/triggers?unclaimed=true');
    expect(t.body.total_entries).toBe(1);
    expect(t.body.triggers[0]).toMatchObject({ kind: 'aws.SageMakerJobTrigger', task_instance: { dag_id: 'etl', dag_run_id: 'run_2', task_id: 'train' } });
    const h = await get('/api/v1/health');
    expect(h.body).toMatchObject({
      metadatabase: { status: 'healthy' },
      scheduler: { status: 'unhealthy', latest_scheduler_heartbeat: null },
      triggerer: { status: null },
    });
    const n = await get('/api/v1/nope');
    expect(n.status).toBe(404);
    expect(n.type).toContain('application/problem+json');
  });

  it('serves an OpenAPI document with the zod schemas as parameters', async () => {
    const r = await get('/api/v1/openapi.json');
    expect(r.body.openapi).toMatch(/^3\./);
    const list = r.body.paths['/api/v1/dags'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['limit', 'offset', 'order_by']));
    expect(r.body.paths['/api/v1/dags/{dag_id}/dagRuns'].post.requestBody).toBeDefined();
    const ui = await app.inject('/api/v1/ui/');
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('answers a malformed JSON body with a 400 problem', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/dags/etl/dagRuns', headers: { 'content-type': 'application/json' }, payload: '{"conf": ' });
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json()).toMatchObject({ status: 400, detail: expect.stringMatching(/JSON/i) });
  });
});
