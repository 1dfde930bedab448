/**
 * Write side of the REST API against real FerretDB: triggering runs (manual run ids as Airflow),
 * clear / mark through the guarded transitions (triggers of deferred tasks deleted, runs requeued),
 * pause, variables, and connections whose secrets never leave the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildServer } from '../../src/api/server.ts';
import { StateChangeBus, type StateChange } from '../../src/store/state-change-bus.ts';
import { ConnectionRepository } from '../../src/connections/connection-repository.ts';
import { SecretCipher } from '../../src/connections/secret-cipher.ts';
import type { Store } from '../../src/store/store.ts';
import type { DagDoc } from '../../src/store/schema.ts';
import { Driver, closeTestStore, dagRunId, openTestStore, seedDag, taskInstanceId } from './helpers.ts';

let store: Store;
let app: FastifyInstance;
let d: Driver;
let etl: DagDoc;
const bus = new StateChangeBus();
const changes: StateChange[] = [];

beforeAll(async () => {
  store = await openTestStore('api_actions');
  d = new Driver(store);
  etl = await seedDag(store, 'etl', { extract: ['train'], train: ['report'], report: [] }, { schedule: '@daily' });
  bus.changes$.subscribe((c) => changes.push(c));
  const connections = new ConnectionRepository(store, { cipher: new SecretCipher(randomBytes(32)), env: {} });
  app = await buildServer({ store, bus, metricsRegistry: new Registry(), connections });
});

afterAll(async () => {
  await app?.close();
  await closeTestStore(store);
});

const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => {
  const r = await app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: r.statusCode, body: r.body ? (r.json() as Record<string, any>) : {} };
};

describe('triggering runs', () => {
  it('creates a queued manual run with conf and an Airflow-style run id', async () => {
    const r = await call('POST', '/api/v1/dags/etl/dagRuns', { logical_date: '2025-03-04T05:06:07Z', conf: { epochs: 5, 'a.b': { $x: 1 } } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      dag_run_id: 'manual__2025-03-04T05:06:07+00:00',
      state: 'queued',
      run_type: 'manual',
      conf: { epochs: 5, 'a.b': { $x: 1 } },
      external_trigger: true,
    });
    // @daily: the manual run covers the last complete interval before the logical date
    expect(r.body.data_interval_start).toBe('2025-03-03T00:00:00.000Z');
    expect(r.body.data_interval_end).toBe('2025-03-04T00:00:00.000Z');
    expect(changes.some((c) => c.kind === 'dag_run' && c.run.run_id === 'manual__2025-03-04T05:06:07+00:00')).toBe(true);
  });

  it('defaults the logical date to now and accepts a given run id; 409 on a duplicate', async () => {
    const r = await call('POST', '/api/v1/dags/etl/dagRuns', { dag_run_id: 'my_run' });
    expect(r.status).toBe(200);
    expect(Math.abs(Date.parse(r.body.logical_date) - Date.now())).toBeLessThan(60_000);
    const dup = await call('POST', '/api/v1/dags/etl/dagRuns', { dag_run_id: 'my_run' });
    expect(dup.status).toBe(409);
    expect(dup.body.title).toBe('DAG run already exists');
  });

  it('400 with a clear message for a bad body; 404 for an unknown DAG', async () => {
    const bad = await call('POST', '/api/v1/dags/etl/dagRuns', { conf: 'not an object', bogus: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/Invalid request body/);
    expect(bad.body.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['conf']));
    const badDate = await call('POST', '/api/v1/dags/etl/dagRuns', { logical_date: 'tomorrow' });
    expect(badDate.body.issues[0].path).toBe('logical_date');
    expect((await call('POST', '/api/v1/dags/nope/dagRuns', {})).status).toBe(404);
  });
});

describe('clear and mark go through the guarded transitions', () => {
  it('marking a deferred task success deletes its trigger; clearing resets state and requeues the run', async () => {
    await d.createRun(etl, 'r1', new Date('2024-06-01T00:00:00Z'));
    await d.run('etl', 'r1', 'extract');
    const { triggerId } = await d.defer('etl', 'r1', 'train', 'job-r1');
    const before = (await store.taskInstances.findOne({ _id: taskInstanceId('etl', 'r1', 'train') }))!;

    const dry = await call('PATCH', '/api/v1/dags/etl/dagRuns/r1/taskInstances/train', { new_state: 'success' });
    expect(dry.body).toMatchObject({ task_id: 'train', dag_run_id: 'r1' });
    expect((await store.taskInstances.findOne({ _id: before._id }))!.state).toBe('deferred');

    const r = await call('PATCH', '/api/v1/dags/etl/dagRuns/r1/taskInstances/train', { dry_run: false, new_state: 'success' });
    expect(r.status).toBe(200);
    const after = (await store.taskInstances.findOne({ _id: before._id }))!;
    expect(after.state).toBe('success');
    expect(after.version).toBe(before.version + 1);
    expect(after.trigger_id).toBeNull();
    expect(await store.triggers.findOne({ _id: triggerId })).toBeNull();
    // a late trigger fire can no longer resume it
    expect(await d.tis.resumeFromTrigger(triggerId, {})).toBeNull();

    const cleared = await call('POST', '/api/v1/dags/etl/clearTaskInstances', {
      dry_run: false,
      dag_run_id: 'r1',
      task_ids: ['train'],
      include_downstream: true,
      only_failed: false,
    });
    expect(cleared.body.task_instances.map((t: { task_id: string }) => t.task_id).sort()).toEqual(['report', 'train']);
    const train = (await store.taskInstances.findOne({ _id: before._id }))!;
    expect(train.state).toBeNull();
    expect(train.max_tries).toBe(train.try_number + 1);
    expect((await store.taskInstances.findOne({ _id: taskInstanceId('etl', 'r1', 'extract') }))!.state).toBe('success');
    const run = (await store.dagRuns.findOne({ _id: dagRunId('etl', 'r1') }))!;
    expect(run.state).toBe('queued');
    expect(run.clear_number).toBe(1);
  });

  it('clearTaskInstances defaults to a dry run, and only_failed picks failed tasks', async () => {
    await d.createRun(etl, 'r2', new Date('2024-06-02T00:00:00Z'));
    await d.run('etl', 'r2', 'extract', 'failed');
    const dry = await call('POST', '/api/v1/dags/etl/clearTaskInstances', { dag_run_id: 'r2' });
    expect(dry.body.task_instances.map((t: { task_id: string }) => t.task_id)).toEqual(['extract']);
    expect((await store.taskInstances.findOne({ _id: taskInstanceId('etl', 'r2', 'extract') }))!.state).toBe('failed');
    const bad = await call('POST', '/api/v1/dags/etl/clearTaskInstances', { dag_run_id: 'r2', task_ids: [] });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toBe('task_ids');
  });

  it('updateTaskInstancesState marks a task and its downstream', async () => {
    await d.createRun(etl, 'r3', new Date('2024-06-03T00:00:00Z'));
    const r = await call('POST', '/api/v1/dags/etl/updateTaskInstancesState', {
      dry_run: false,
      dag_run_id: 'r3',
      task_id: 'train',
      new_state: 'failed',
      include_downstream: true,
    });
    expect(r.body.task_instances.map((t: { task_id: string }) => t.task_id).sort()).toEqual(['report', 'train']);
    const states = await store.taskInstances.find({ run_id: 'r3' }).sort({ task_id: 1 }).toArray();
    expect(states.map((t) => [t.task_id, t.state])).toEqual([
      ['extract', null],
      ['report', 'failed'],
      ['train', 'failed'],
    ]);
  });

  it('run clear (dry run lists, then clears) and PATCH state settle task instances like Airflow', async () => {
    await d.createRun(etl, 'r4', new Date('2024-06-04T00:00:00Z'));
    await d.run('etl', 'r4', 'extract');
    await d.defer('etl', 'r4', 'train', 'job-r4');
    const failed = await call('PATCH', '/api/v1/dags/etl/dagRuns/r4', { state: 'failed' });
    expect(failed.body.state).toBe('failed');
    const tis = Object.fromEntries((await store.taskInstances.find({ run_id: 'r4' }).toArray()).map((t) => [t.task_id, t.state]));
    expect(tis).toEqual({ extract: 'success', train: 'failed', report: 'skipped' });
    expect(await store.triggers.countDocuments({ run_id: 'r4' })).toBe(0);

    const dry = await call('POST', '/api/v1/dags/etl/dagRuns/r4/clear', {});
    expect(dry.body.total_entries).toBe(3);
    const cleared = await call('POST', '/api/v1/dags/etl/dagRuns/r4/clear', { dry_run: false });
    expect(cleared.body).toMatchObject({ dag_run_id: 'r4', state: 'queued' });
    expect(await store.taskInstances.countDocuments({ run_id: 'r4', state: null })).toBe(3);
    expect((await call('PATCH', '/api/v1/dags/etl/dagRuns/r4', { state: 'running!' })).status).toBe(400);
  });

  it('deletes a run with its task instances, triggers and logs', async () => {
    await d.createRun(etl, 'r5', new Date('2024-06-05T00:00:00Z'));
    await d.defer('etl', 'r5', 'extract', 'job-r5');
    expect((await call('DELETE', '/api/v1/dags/etl/dagRuns/r5')).status).toBe(204);
    expect(await store.taskInstances.countDocuments({ run_id: 'r5' })).toBe(0);
    expect(await store.triggers.countDocuments({ run_id: 'r5' })).toBe(0);
    expect((await call('GET', '/api/v1/dags/etl/dagRuns/r5')).status).toBe(404);
  });
});

describe('dags, variables, connections', () => {
  it('pauses and unpauses a DAG', async () => {
    expect((await call('PATCH', '/api/v1/dags/etl', { is_paused: true })).body.is_paused).toBe(true);
    expect((await store.dags.findOne({ _id: 'etl' }))!.is_paused).toBe(true);
    expect((await call('PATCH', '/api/v1/dags/etl', { is_paused: 'yes' })).status).toBe(400);
    expect((await call('PATCH', '/api/v1/dags/etl', { is_paused: false })).body.is_paused).toBe(false);
  });

  it('variables CRUD', async () => {
    expect((await call('POST', '/api/v1/variables', { key: 'bucket', value: 's3://b', description: 'where' })).body).toEqual({
      key: 'bucket',
      value: 's3://b',
      description: 'where',
    });
    expect((await call('PATCH', '/api/v1/variables/bucket', { value: 's3://c' })).body.value).toBe('s3://c');
    // Issue 13: the list leaves values out, as Airflow does (they may be secrets); one variable has its value.
    expect((await call('GET', '/api/v1/variables')).body).toEqual({ total_entries: 1, variables: [{ key: 'bucket', description: 'where' }] });
    expect((await call('GET', '/api/v1/variables/bucket')).body.value).toBe('s3://c');
    expect((await call('POST', '/api/v1/variables', { key: 'bad key!', value: 'x' })).status).toBe(400);
    expect((await call('DELETE', '/api/v1/variables/bucket')).status).toBe(204);
    const gone = await call('GET', '/api/v1/variables/bucket');
    expect(gone.status).toBe(404);
    expect(gone.body.title).toBe('Variable not found');
  });

  it('connections never return the password or secret extras', async () => {
    const secret = 'hunter2-very-secret';
    const created = await call('POST', '/api/v1/connections', {
      connection_id: 'aws-ml',
      conn_type: 'aws',
      login: 'AKIAEXAMPLE',
      password: secret,
      extra: { region_name: 'eu-west-1', aws_secret_access_key: 'sk-123456789', role_arn: 'arn:aws:iam::1:role/x' },
    });
    expect(created.status).toBe(200);
    const all = [
      created,
      await call('GET', '/api/v1/connections/aws-ml'),
      await call('GET', '/api/v1/connections'),
      await call('PATCH', '/api/v1/connections/aws-ml', { host: 'example.com' }),
    ];
    for (const r of all) {
      const text = JSON.stringify(r.body);
      expect(text).not.toContain(secret);
      expect(text).not.toContain('sk-123456789');
      expect(text).not.toContain('"password"');
    }
    const one = all[1]!.body;
    expect(one).toMatchObject({ connection_id: 'aws-ml', conn_type: 'aws', login: 'AKIAEXAMPLE', has_password: true });
    expect(JSON.parse(one.extra)).toMatchObject({ region_name: 'eu-west-1', aws_secret_access_key: '***' });
    expect(all[3]!.body.host).toBe('example.com');
    // the PATCH kept the password (stored encrypted, never in plaintext)
    const doc = (await store.connections.findOne({ _id: 'aws-ml' }))!;
    expect(doc.password).not.toContain(secret);
    expect(doc.password).toMatch(/^enc:v1:/);
    expect((await call('POST', '/api/v1/connections', { connection_id: 'aws-ml', conn_type: 'aws' })).status).toBe(409);
    expect((await call('DELETE', '/api/v1/connections/aws-ml')).status).toBe(204);
    expect((await call('GET', '/api/v1/connections/aws-ml')).status).toBe(404);
  });
});
