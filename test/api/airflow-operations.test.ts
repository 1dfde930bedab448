/**
 * The operations and shapes issue 13 added, with inject(): DAG details / source / stats, the audit
 * log (/eventLogs) with who did what, version, batch lists, notes, DAG deletion and bulk pause,
 * per-try history, the OpenAPI document (a response schema for every operation, components that
 * resolve, YAML), and bad bodies answered with what to fix (issue 14.6). Every response is checked
 * against its documented schema (DEFERFLOW_API_VALIDATE_RESPONSES, vitest.config.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer } from '../../src/api/server.ts';
import type { Store } from '../../src/store/store.ts';
import { Driver, closeTestStore, openTestStore, seedDag, taskInstanceId } from './helpers.ts';

let store: Store;
let app: FastifyInstance;
let d: Driver;
const dagFile = join(mkdtempSync(join(tmpdir(), 'deferflow-dagsrc-')), 'etl.ts');

beforeAll(async () => {
  store = await openTestStore('api_airflow_ops');
  d = new Driver(store);
  writeFileSync(dagFile, "export default 'the etl DAG';\n");
  const etl = await seedDag(store, 'etl', { extract: ['train'], train: [] }, { fileloc: dagFile, params: JSON.stringify({ epochs: 3, mode: 'fast' }) });
  await seedDag(store, 'nightly_a', { only: [] });
  await seedDag(store, 'nightly_b', { only: [] });
  await d.createRun(etl, 'run_1', new Date('2025-01-01T00:00:00Z'));
  await d.run('etl', 'run_1', 'extract');
  const { triggerId } = await d.defer('etl', 'run_1', 'train', 'job-1');
  await d.resumeAndFinish(triggerId);
  await store.xcom.insertOne({
    _id: `${taskInstanceId('etl', 'run_1', 'extract')}|return_value`,
    dag_id: 'etl',
    run_id: 'run_1',
    task_id: 'extract',
    map_index: -1,
    key: 'return_value',
    value: JSON.stringify({ rows: 1 }),
    timestamp: new Date(),
  });
  app = await buildServer({ store, metricsRegistry: new Registry(), auth: { basic: { user: 'alice', password: 'pw' } } });
});

afterAll(async () => {
  await app?.close();
  await closeTestStore(store);
});

const AUTH = `Basic ${Buffer.from('alice:pw').toString('base64')}`;

async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await app.inject({ method, url, headers: { authorization: AUTH, ...headers }, ...(body !== undefined ? { payload: body as object } : {}) });
  let json: Record<string, any> = {};
  try {
    json = r.body ? (r.json() as Record<string, any>) : {};
  } catch {
    json = { text: r.body };
  }
  return { status: r.statusCode, body: json, raw: r.body, type: String(r.headers['content-type'] ?? '') };
}

describe('DAG details, source, stats, version', () => {
  it('serves DAG details with params as Airflow serializes them', async () => {
    const r = await call('GET', '/api/v1/dags/etl/details');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ dag_id: 'etl', timezone: 'UTC', catchup: false, tasks: 2, orientation: 'LR' });
    expect(r.body.params.epochs).toMatchObject({ __class: 'airflow.models.param.Param', value: 3 });
  });

  it('serves the DAG file through its file_token, and nothing else', async () => {
    const dag = (await call('GET', '/api/v1/dags/etl')).body;
    const src = await call('GET', `/api/v1/dagSources/${dag.file_token}`);
    expect(src.status).toBe(200);
    expect(src.body.content).toContain('the etl DAG');
    const text = await call('GET', `/api/v1/dagSources/${dag.file_token}`, undefined, { accept: 'text/plain' });
    expect(text.raw).toContain('the etl DAG');
    const other = Buffer.from('/etc/passwd').toString('base64url');
    expect((await call('GET', `/api/v1/dagSources/${other}`)).status).toBe(404);
  });

  it('counts runs per state and tells its version', async () => {
    const stats = await call('GET', '/api/v1/dagStats?dag_ids=etl,nightly_a');
    expect(stats.body.dags[0]).toEqual({
      dag_id: 'etl',
      stats: [
        { state: 'queued', count: 0 },
        { state: 'running', count: 1 },
        { state: 'success', count: 0 },
        { state: 'failed', count: 0 },
      ],
    });
    const v = await call('GET', '/api/v1/version');
    expect(v.body.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('per-try history', () => {
  it('lists the tries of a task with the deferral window and what it waited on', async () => {
    const r = await call('GET', '/api/v1/dags/etl/dagRuns/run_1/taskInstances/train/tries');
    expect(r.status).toBe(200);
    expect(r.body.total_entries).toBe(1);
    const t = r.body.task_instances[0];
    expect(t).toMatchObject({ try_number: 1, state: 'success', hostname: 'test-host', current: true, ended_by: 'worker' });
    expect(t.deferrals).toHaveLength(1);
    expect(t.deferrals[0]).toMatchObject({ waited_on: 'training job job-1', resumed_by: 'event', trigger_kind: 'aws.SageMakerJobTrigger' });
    expect(Date.parse(t.try_queued_at)).toBeLessThanOrEqual(Date.parse(t.start_date));
    const one = await call('GET', '/api/v1/dags/etl/dagRuns/run_1/taskInstances/train/tries/1');
    expect(one.body.deferrals).toEqual(t.deferrals);
    expect((await call('GET', '/api/v1/dags/etl/dagRuns/run_1/taskInstances/train/tries/2')).status).toBe(404);
    // The task instance itself carries its try's windows (the Gantt draws them after a reload).
    const ti = await call('GET', '/api/v1/dags/etl/dagRuns/run_1/taskInstances/train');
    expect(ti.body.deferrals).toEqual(t.deferrals);
  });
});

describe('batch lists', () => {
  it('lists runs and task instances across DAGs with the filters in the body', async () => {
    const runs = await call('POST', '/api/v1/dags/~/dagRuns/list', { dag_ids: ['etl'], states: ['running'] });
    expect(runs.status).toBe(200);
    expect(runs.body.dag_runs.map((r: { dag_run_id: string }) => r.dag_run_id)).toEqual(['run_1']);
    const tis = await call('POST', '/api/v1/dags/~/dagRuns/~/taskInstances/list', { dag_ids: ['etl'], state: ['success'], page_limit: 10 });
    expect(tis.body.total_entries).toBe(2);
    expect((await call('POST', '/api/v1/dags/~/dagRuns/list', { states: ['nope'] })).status).toBe(400);
  });
});

describe('shapes', () => {
  it('fills XCom execution_date with the run’s logical date', async () => {
    const list = await call('GET', '/api/v1/dags/etl/dagRuns/run_1/taskInstances/extract/xcomEntries');
    expect(list.body.xcom_entries[0].execution_date).toBe('2025-01-01T00:00:00.000Z');
    const one = await call('GET', '/api/v1/dags/etl/dagRuns/run_1/taskInstances/extract/xcomEntries/return_value');
    expect(one.body).toMatchObject({ execution_date: '2025-01-01T00:00:00.000Z', value: { rows: 1 } });
  });

  it('accepts a date-only logical date and refuses conflicting dates', async () => {
    const ok = await call('POST', '/api/v1/dags/nightly_a/dagRuns', { logical_date: '2025-04-09', dag_run_id: 'dateonly' });
    expect(ok.status).toBe(200);
    expect(ok.body.logical_date).toBe('2025-04-09T00:00:00.000Z');
    const clash = await call('POST', '/api/v1/dags/nightly_a/dagRuns', { logical_date: '2025-04-10', execution_date: '2025-04-11T00:00:00Z' });
    expect(clash.status).toBe(400);
    expect(clash.body.issues[0]).toMatchObject({ path: 'execution_date' });
    expect(clash.body.detail).toMatch(/conflicts with logical_date/);
    const same = await call('POST', '/api/v1/dags/nightly_a/dagRuns', { logical_date: '2025-04-12', execution_date: '2025-04-12T00:00:00Z' });
    expect(same.status).toBe(200);
    expect((await call('POST', '/api/v1/dags/nightly_a/dagRuns', { logical_date: '2025-02-30' })).body.detail).toMatch(/not a valid calendar date/);
  });

  it('answers bad bodies with what to fix: __proto__, depth, size, media type', async () => {
    const proto = await app.inject({
      method: 'POST',
      url: '/api/v1/dags/nightly_a/dagRuns',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      payload: '{"conf": {"__proto__": {"admin": true}}}',
    });
    expect(proto.statusCode).toBe(400);
    expect(proto.json().detail).toMatch(/__proto__/);
    expect(proto.json().issues[0].path).toBe('conf.__proto__');
    expect(proto.json().detail).not.toMatch(/not valid JSON/);

    const deep = `{"conf": ${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    const tooDeep = await app.inject({
      method: 'POST',
      url: '/api/v1/dags/nightly_a/dagRuns',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      payload: deep,
    });
    expect(tooDeep.statusCode).toBe(400);
    expect(tooDeep.json().detail).toMatch(/more than 100 levels/);

    const big = await app.inject({
      method: 'POST',
      url: '/api/v1/variables',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      payload: JSON.stringify({ key: 'big', value: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ title: 'Payload too large' });
    expect(big.json().detail).toMatch(/1048576 bytes \(1 MiB\)/);

    const media = await app.inject({ method: 'POST', url: '/api/v1/variables', headers: { authorization: AUTH, 'content-type': 'text/csv' }, payload: 'a,b' });
    expect(media.statusCode).toBe(415);
    expect(media.json().detail).toMatch(/application\/json/);

    const broken = await app.inject({
      method: 'POST',
      url: '/api/v1/variables',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      payload: '{"key": ',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().detail).toMatch(/not valid JSON/);
  });
});

describe('notes, deletion, bulk pause and the audit log', () => {
  it('sets notes on a run and a task instance', async () => {
    const run = await call('PATCH', '/api/v1/dags/etl/dagRuns/run_1/setNote', { note: 'looks good' });
    expect(run.body.note).toBe('looks good');
    const ti = await call('PATCH', '/api/v1/dags/etl/dagRuns/run_1/taskInstances/train/setNote', { note: 'slow job' });
    expect(ti.body.note).toBe('slow job');
    expect((await call('GET', '/api/v1/dags/etl/dagRuns/run_1/taskInstances/train')).body.note).toBe('slow job');
  });

  it('pauses every DAG a pattern selects, and refuses without one', async () => {
    const r = await call('PATCH', '/api/v1/dags?dag_id_pattern=nightly&update_mask=is_paused', { is_paused: true });
    expect(r.status).toBe(200);
    expect(r.body.dags.map((x: { dag_id: string; is_paused: boolean }) => [x.dag_id, x.is_paused])).toEqual([
      ['nightly_a', true],
      ['nightly_b', true],
    ]);
    expect((await store.dags.findOne({ _id: 'etl' }))!.is_paused).toBe(false);
    expect((await call('PATCH', '/api/v1/dags', { is_paused: true })).status).toBe(400);
  });

  it('deletes a DAG with everything under it', async () => {
    const dag = await seedDag(store, 'doomed', { a: ['b'], b: [] });
    await d.createRun(dag, 'r', new Date('2025-02-01T00:00:00Z'));
    await d.run('doomed', 'r', 'a');
    await d.defer('doomed', 'r', 'b', 'job-doomed');
    await d.log({ _id: taskInstanceId('doomed', 'r', 'a'), dag_id: 'doomed', run_id: 'r', task_id: 'a' }, 1, ['hello']);
    expect((await call('DELETE', '/api/v1/dags/doomed')).status).toBe(204);
    expect(await store.dags.countDocuments({ _id: 'doomed' })).toBe(0);
    expect(await store.dagRuns.countDocuments({ dag_id: 'doomed' })).toBe(0);
    expect(await store.taskInstances.countDocuments({ dag_id: 'doomed' })).toBe(0);
    expect(await store.triggers.countDocuments({ dag_id: 'doomed' })).toBe(0);
    expect(await store.taskLogs.countDocuments({ dag_id: 'doomed' })).toBe(0);
    expect((await call('DELETE', '/api/v1/dags/doomed')).status).toBe(404);
  });

  it('records who did what in /eventLogs, newest first, filterable', async () => {
    await call('POST', '/api/v1/variables', { key: 'role', value: 'arn:aws:iam::1:role/x' });
    await call('POST', '/api/v1/dags/etl/clearTaskInstances', { dry_run: false, task_ids: ['extract'], dag_run_id: 'run_1', only_failed: false });
    await call('PATCH', '/api/v1/dags/etl/dagRuns/run_1/taskInstances/extract', { dry_run: false, new_state: 'failed' });
    const all = await call('GET', '/api/v1/eventLogs?limit=100');
    expect(all.status).toBe(200);
    const events = all.body.event_logs.map((e: { event: string }) => e.event);
    for (const e of ['trigger', 'note.dag_run', 'note.task_instance', 'dag.pause', 'dag.delete', 'variable.create', 'clear', 'mark_failed'])
      expect(events).toContain(e);
    // Newest first; every entry says who (the basic-auth user) and from where.
    expect(events[0]).toBe('mark_failed');
    for (const e of all.body.event_logs) {
      expect(e.owner).toBe('alice');
      expect(JSON.parse(e.extra).source).toBe('api');
      expect(Number.isInteger(e.event_log_id)).toBe(true);
    }
    // Values of variables and conf never go into the log.
    expect(JSON.stringify(all.body)).not.toContain('arn:aws:iam::1:role/x');
    const clears = await call('GET', '/api/v1/eventLogs?event=clear&dag_id=etl');
    expect(clears.body.event_logs).toHaveLength(1);
    expect(clears.body.event_logs[0]).toMatchObject({ task_id: 'extract', run_id: 'run_1', execution_date: '2025-01-01T00:00:00.000Z' });
    const one = await call('GET', `/api/v1/eventLogs/${clears.body.event_logs[0].event_log_id}`);
    expect(one.body.event).toBe('clear');
    const without = await call('GET', '/api/v1/eventLogs?excluded_events=trigger,clear');
    expect(without.body.event_logs.some((e: { event: string }) => e.event === 'trigger' || e.event === 'clear')).toBe(false);
  });
});

describe('the OpenAPI document', () => {
  it('documents a response schema for every operation, and every reference resolves', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).body as {
      paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>; requestBody?: unknown }>>;
      components: { schemas: Record<string, unknown> };
    };
    const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
    expect(ops.length).toBeGreaterThanOrEqual(50);
    for (const { path, method, op } of ops) {
      const responses = op.responses ?? {};
      const success = Object.entries(responses).filter(([code]) => /^2/.test(code));
      expect(success.length, `${method} ${path} documents a success response`).toBeGreaterThan(0);
      for (const [code, r] of success) {
        if (code === '204') continue;
        expect(
          Object.values(r.content ?? {}).some((c) => c.schema),
          `${method} ${path} ${code} has a schema`,
        ).toBe(true);
      }
    }
    const text = JSON.stringify(doc);
    for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) expect(doc.components.schemas, `component ${m[1]}`).toHaveProperty(m[1]!);
    for (const id of ['DAG', 'DAGRun', 'TaskInstance', 'EventLog', 'VariableCollectionItem', 'TriggerDAGRun', 'Error'])
      expect(doc.components.schemas).toHaveProperty(id);
    // The variable list documents no value; the trigger body documents its date rule.
    expect(JSON.stringify(doc.components.schemas.VariableCollectionItem)).not.toContain('"value"');
    const yaml = await call('GET', '/api/v1/openapi.yaml');
    expect(yaml.type).toContain('yaml');
    expect(yaml.raw).toMatch(/^openapi: 3\.0\.3/m);
  });
});
