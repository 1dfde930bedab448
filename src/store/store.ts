/**
 * The MongoDB store: typed collections plus the indexes every hot query needs. Processes share
 * nothing but this database. Works on MongoDB ≥ 6 and FerretDB v1 (see schema.ts for the rules).
 */
import { MongoClient, type Collection, type Db } from 'mongodb';
import {
  COLLECTIONS,
  type CallbackRequestDoc,
  type ConnectionDoc,
  type DagDoc,
  type DagRunDoc,
  type DagVersionDoc,
  type DeploymentDoc,
  type EventLogDoc,
  type ImportErrorDoc,
  type JobDoc,
  type MetricsSnapshotDoc,
  type TaskInstanceDoc,
  type TaskLogDoc,
  type TriggerDoc,
  type TriggerShardDoc,
  type VariableDoc,
  type XComDoc,
} from './schema.ts';

export interface StoreOptions {
  uri: string;
  /** Database name; default from the URI path, else 'deferflow'. */
  dbName?: string;
  /** Passed to MongoClient (pool size etc.). */
  maxPoolSize?: number;
}

export class Store {
  readonly dags: Collection<DagDoc>;
  readonly dagRuns: Collection<DagRunDoc>;
  readonly taskInstances: Collection<TaskInstanceDoc>;
  readonly triggers: Collection<TriggerDoc>;
  readonly xcom: Collection<XComDoc>;
  readonly variables: Collection<VariableDoc>;
  readonly connections: Collection<ConnectionDoc>;
  readonly jobs: Collection<JobDoc>;
  readonly importErrors: Collection<ImportErrorDoc>;
  readonly taskLogs: Collection<TaskLogDoc>;
  readonly dagVersions: Collection<DagVersionDoc>;
  readonly triggerShards: Collection<TriggerShardDoc>;
  readonly deployment: Collection<DeploymentDoc>;
  readonly callbackRequests: Collection<CallbackRequestDoc>;
  readonly eventLogs: Collection<EventLogDoc>;
  readonly metricsSnapshots: Collection<MetricsSnapshotDoc>;

  private constructor(
    readonly client: MongoClient,
    readonly db: Db,
    private readonly ownsClient: boolean,
  ) {
    this.dags = db.collection<DagDoc>(COLLECTIONS.dags);
    this.dagRuns = db.collection<DagRunDoc>(COLLECTIONS.dagRuns);
    this.taskInstances = db.collection<TaskInstanceDoc>(COLLECTIONS.taskInstances);
    this.triggers = db.collection<TriggerDoc>(COLLECTIONS.triggers);
    this.xcom = db.collection<XComDoc>(COLLECTIONS.xcom);
    this.variables = db.collection<VariableDoc>(COLLECTIONS.variables);
    this.connections = db.collection<ConnectionDoc>(COLLECTIONS.connections);
    this.jobs = db.collection<JobDoc>(COLLECTIONS.jobs);
    this.importErrors = db.collection<ImportErrorDoc>(COLLECTIONS.importErrors);
    this.taskLogs = db.collection<TaskLogDoc>(COLLECTIONS.taskLogs);
    this.dagVersions = db.collection<DagVersionDoc>(COLLECTIONS.dagVersions);
    this.triggerShards = db.collection<TriggerShardDoc>(COLLECTIONS.triggerShards);
    this.deployment = db.collection<DeploymentDoc>(COLLECTIONS.deployment);
    this.callbackRequests = db.collection<CallbackRequestDoc>(COLLECTIONS.callbackRequests);
    this.eventLogs = db.collection<EventLogDoc>(COLLECTIONS.eventLogs);
    this.metricsSnapshots = db.collection<MetricsSnapshotDoc>(COLLECTIONS.metricsSnapshots);
  }

  static async connect(opts: StoreOptions): Promise<Store> {
    const client = new MongoClient(opts.uri, {
      maxPoolSize: opts.maxPoolSize ?? 20,
      // Fail fast with a clear message instead of hanging 30 s when nothing listens.
      serverSelectionTimeoutMS: 10_000,
    });
    await client.connect();
    const store = new Store(client, client.db(opts.dbName ?? dbNameFromUri(opts.uri)), true);
    await store.ensureIndexes();
    return store;
  }

  /** Wrap an existing client (embedding apps share their pool). */
  static async fromClient(client: MongoClient, dbName: string): Promise<Store> {
    const store = new Store(client, client.db(dbName), false);
    await store.ensureIndexes();
    return store;
  }

  /** One index per hot query; see the comment on each for the query it serves. */
  async ensureIndexes(): Promise<void> {
    await Promise.all([
      // scheduler: unfinished runs per DAG; API: runs by logical date
      this.dagRuns.createIndex({ dag_id: 1, run_id: 1 }, { unique: true }),
      this.dagRuns.createIndex({ dag_id: 1, logical_date: 1 }, { unique: true }),
      this.dagRuns.createIndex({ state: 1, dag_id: 1 }),
      // scheduler: runs changed since its cursor
      this.dagRuns.createIndex({ updated_at: 1 }),
      // scheduler: task instances of a run; worker: queued by priority; zombie sweep by lease
      this.taskInstances.createIndex({ dag_id: 1, run_id: 1, task_id: 1, map_index: 1 }, { unique: true }),
      this.taskInstances.createIndex({ state: 1, priority_weight: -1, queued_dttm: 1 }),
      // worker: claim resumes first, then by priority, FIFO
      this.taskInstances.createIndex({ state: 1, is_resume: -1, priority_weight: -1, queued_dttm: 1 }),
      this.taskInstances.createIndex({ state: 1, lease_expires_at: 1 }),
      this.taskInstances.createIndex({ state: 1, scheduled_after: 1 }),
      this.taskInstances.createIndex({ trigger_id: 1 }),
      this.taskInstances.createIndex({ updated_at: 1 }),
      // triggerer: the rows of the shards it leases (all of them on a claim, the new ones per poll); route events by key
      this.triggers.createIndex({ shard: 1, created_at: 1 }),
      this.triggers.createIndex({ routing_keys: 1 }),
      this.triggers.createIndex({ task_instance_id: 1 }),
      this.triggers.createIndex({ deadline: 1 }),
      this.xcom.createIndex({ dag_id: 1, run_id: 1, task_id: 1 }),
      this.jobs.createIndex({ job_type: 1, state: 1, latest_heartbeat: 1 }),
      this.taskLogs.createIndex({ ti_id: 1, try_number: 1, seq: 1 }),
      // schedulers / workers: callback requests whose runner died
      this.callbackRequests.createIndex({ kind: 1, lease_expires_at: 1 }),
      this.dags.createIndex({ is_active: 1, is_paused: 1 }),
      // DAG processor: the DAGs of a file (deactivate what a file no longer defines)
      this.dags.createIndex({ fileloc: 1 }),
      // API / UI: a DAG's versions, newest first
      this.dagVersions.createIndex({ dag_id: 1, created_at: -1 }),
      // audit log (/eventLogs, the UI's audit page): newest first, overall and per DAG
      this.eventLogs.createIndex({ dttm: -1 }),
      this.eventLogs.createIndex({ dag_id: 1, dttm: -1 }),
      // deferrals page: the recent process snapshots; clean-up of old ones
      this.metricsSnapshots.createIndex({ updated_at: -1 }),
    ]);
  }

  async ping(): Promise<{ ok: boolean; version: string }> {
    const info = (await this.db.command({ buildInfo: 1 })) as { version?: string };
    return { ok: true, version: String(info.version ?? 'unknown') };
  }

  /** Drop everything (tests). */
  async dropDatabase(): Promise<void> {
    await this.db.dropDatabase();
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}

export function dbNameFromUri(uri: string): string {
  try {
    const u = new URL(uri);
    const name = u.pathname.replace(/^\//, '');
    return name || 'deferflow';
  } catch {
    return 'deferflow';
  }
}
