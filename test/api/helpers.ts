/**
 * Seeding for the API and UI tests: a real store on the test MongoDB (FerretDB), DAG metadata rows
 * as the DAG processor writes them, and task states driven through the real transitions (the same
 * guarded writes the scheduler, worker and triggerer make).
 */
import { randomUUID } from 'node:crypto';
import { Store } from '../../src/store/store.ts';
import type { StateChangeBus } from '../../src/store/state-change-bus.ts';
import { TaskInstanceTransitions } from '../../src/store/transitions/task-instance-transitions.ts';
import { DagRunTransitions } from '../../src/store/transitions/dag-run-transitions.ts';
import { TriggerTransitions } from '../../src/store/transitions/trigger-transitions.ts';
import { dagRunId, taskInstanceId, type DagDoc, type DagRunDoc, type TaskInstanceDoc } from '../../src/store/schema.ts';

export const MONGODB_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';

export async function openTestStore(file: string): Promise<Store> {
  return Store.connect({ uri: MONGODB_URI, dbName: `deferflow_test_${file}_${randomUUID().slice(0, 8)}` });
}

export async function closeTestStore(store: Store): Promise<void> {
  await store.dropDatabase();
  await store.close();
}

/** Tasks as `id: [downstream ids]`, in order. */
export async function seedDag(store: Store, dagId: string, graph: Record<string, string[]>, extra: Partial<DagDoc> = {}): Promise<DagDoc> {
  const ids = Object.keys(graph);
  const doc: DagDoc = {
    _id: dagId,
    dag_id: dagId,
    fileloc: `/dags/${dagId}.ts`,
    description: `The ${dagId} DAG`,
    schedule: null,
    start_date: new Date('2025-01-01T00:00:00Z'),
    end_date: null,
    catchup: false,
    tags: ['test'],
    owners: ['ml'],
    params: JSON.stringify({ epochs: 3 }),
    max_active_runs: 16,
    max_active_tasks: 16,
    is_paused: false,
    is_active: true,
    tasks: ids.map((id) => ({
      task_id: id,
      operator: id.startsWith('train') ? 'SageMakerTrainingOperator' : 'PythonOperator',
      downstream_task_ids: graph[id]!,
      upstream_task_ids: ids.filter((u) => graph[u]!.includes(id)),
      trigger_rule: 'all_success',
      retries: 1,
      template_fields: ['config'],
      location: `/dags/${dagId}.ts:10`,
    })),
    last_parsed_time: new Date(),
    last_automated_data_interval_start: null,
    last_automated_data_interval_end: null,
    next_dagrun: null,
    next_dagrun_create_after: null,
    ...extra,
  };
  await store.dags.insertOne(doc);
  return doc;
}

/** Drives task states through the guarded transitions, as the processes would. */
export class Driver {
  readonly tis: TaskInstanceTransitions;
  readonly runs: DagRunTransitions;
  readonly triggers: TriggerTransitions;
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly store: Store,
    bus?: StateChangeBus,
  ) {
    this.tis = new TaskInstanceTransitions(store, bus);
    this.runs = new DagRunTransitions(store, bus);
    this.triggers = new TriggerTransitions(store, bus);
  }

  async createRun(dag: DagDoc, runId: string, logicalDate: Date, conf: Record<string, unknown> = {}): Promise<DagRunDoc> {
    const run = await this.runs.create({
      dagId: dag.dag_id,
      runId,
      runType: 'manual',
      logicalDate,
      dataInterval: { start: logicalDate, end: logicalDate },
      conf,
    });
    await this.tis.createForRun(
      run,
      dag.tasks.map((t) => ({ task_id: t.task_id, operator: t.operator, queue: 'default', priority_weight: 1, retries: t.retries })),
    );
    return (await this.runs.start(run._id)) ?? run;
  }

  /** none → scheduled → queued → running (this test's worker holds the lease). */
  async start(dagId: string, runId: string, taskId: string): Promise<TaskInstanceDoc> {
    const id = taskInstanceId(dagId, runId, taskId);
    const before = await this.store.taskInstances.findOne({ _id: id });
    if (before?.state === null) await this.tis.schedule(id);
    await this.tis.queue(id);
    // claim takes the best queued TI; tests queue one at a time, so it is this one.
    const ti = await this.tis.claim({ workerId: 'test-worker', hostname: 'test-host', pid: 1, leaseMs: 60_000 });
    if (!ti || ti._id !== id) throw new Error(`claimed ${ti?._id ?? 'nothing'} instead of ${id}`);
    this.tokens.set(id, ti.lease_token!);
    return ti;
  }

  async finish(ti: TaskInstanceDoc, state: 'success' | 'failed' = 'success'): Promise<TaskInstanceDoc> {
    const out = await this.tis.finish(ti, this.tokens.get(ti._id)!, state === 'success' ? { state } : { state, error: 'boom' }, {
      heldMs: 25,
      renderedFields: JSON.stringify({ config: `rendered for ${ti.run_id}` }),
    });
    if (!out) throw new Error(`finish lost ${ti._id}`);
    return out;
  }

  async run(dagId: string, runId: string, taskId: string, state: 'success' | 'failed' = 'success'): Promise<TaskInstanceDoc> {
    return this.finish(await this.start(dagId, runId, taskId), state);
  }

  /** Start the task and defer it on a trigger waiting for `job`. */
  async defer(dagId: string, runId: string, taskId: string, job: string): Promise<{ ti: TaskInstanceDoc; triggerId: string }> {
    const ti = await this.start(dagId, runId, taskId);
    const trig = await this.triggers.create({
      trigger: { kind: 'aws.SageMakerJobTrigger', kwargs: { job_name: job, job_type: 'training' } },
      deadline: new Date(Date.now() + 3_600_000),
      ti,
      routingKeys: [`sagemaker:training-job:${job}`],
      description: `training job ${job}`,
    });
    const out = await this.tis.defer(
      ti,
      this.tokens.get(ti._id)!,
      {
        triggerId: trig._id,
        nextMethod: 'execute_complete',
        nextKwargs: {},
        triggerTimeout: new Date(Date.now() + 3_600_000),
        trigger: { kind: 'aws.SageMakerJobTrigger', description: `training job ${job}` },
      },
      { heldMs: 30, renderedFields: JSON.stringify({ config: { job } }) },
    );
    if (!out) throw new Error(`defer lost ${ti._id}`);
    return { ti: out, triggerId: trig._id };
  }

  /** Triggerer fires: deferred → scheduled; then a worker resumes and finishes it. */
  async resumeAndFinish(triggerId: string, state: 'success' | 'failed' = 'success'): Promise<TaskInstanceDoc> {
    const resumed = await this.tis.resumeFromTrigger(triggerId, { status: 'Completed' });
    if (!resumed) throw new Error(`resume lost ${triggerId}`);
    await this.triggers.delete(triggerId, 'fired');
    return this.run(resumed.dag_id, resumed.run_id, resumed.task_id, state);
  }

  async log(ti: Pick<TaskInstanceDoc, '_id' | 'dag_id' | 'run_id' | 'task_id'>, tryNumber: number, lines: string[], fromSeq = 0): Promise<void> {
    await this.store.taskLogs.insertMany(
      lines.map((msg, i) => ({
        ti_id: ti._id,
        dag_id: ti.dag_id,
        run_id: ti.run_id,
        task_id: ti.task_id,
        try_number: tryNumber,
        seq: fromSeq + i,
        ts: new Date(),
        level: 'info',
        msg,
      })),
    );
  }
}

export { dagRunId, taskInstanceId };
