/**
 * Set-up shared by the triggerer integration tests: a fresh database on the real test server,
 * and `deferTask()` which takes a task instance through the real transitions
 * (none → scheduled → queued → running(worker) → deferred on an inserted trigger), exactly as a
 * worker does it. Not a test file itself.
 */
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { createLogger } from '../../../src/log/logger.ts';
import { Store } from '../../../src/store/store.ts';
import { StateChangeBus } from '../../../src/store/state-change-bus.ts';
import { DagRunTransitions } from '../../../src/store/transitions/dag-run-transitions.ts';
import { TaskInstanceTransitions } from '../../../src/store/transitions/task-instance-transitions.ts';
import { TriggerTransitions } from '../../../src/store/transitions/trigger-transitions.ts';
import { needsDocLocks } from '../../../src/store/transitions/atomic-updater.ts';
import { serializeTrigger, type TriggerLike } from '../../../src/triggers/serialized-trigger.ts';
import { composeDeferral, type Deferral } from '../../../src/triggers/deferral-provider.ts';
import { AwsClientFactory } from '../../../src/providers/aws/aws-clients.ts';
import { awsDeferralProvider } from '../../../src/providers/aws/deferral/aws-deferral-provider.ts';
import type { TaskInstanceDoc, TriggerDoc } from '../../../src/store/schema.ts';
import { Triggerer, type TriggererOptions } from '../../../triggerer/triggerer.ts';
import { TriggererMetrics } from '../../../src/metrics/triggerer-metrics.ts';

export const MONGODB_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';

export interface Deferred {
  ti: TaskInstanceDoc;
  trigger: TriggerDoc;
  /** The worker's lease token of the try that deferred (a stale worker would still hold it). */
  token: string;
}

export class TriggererHarness {
  readonly runs: DagRunTransitions;
  readonly tis: TaskInstanceTransitions;
  readonly triggers: TriggerTransitions;
  readonly registry = new Registry();
  readonly metrics = TriggererMetrics.for(this.registry);
  /** What the worker stores routing keys with (built-in kinds, the AWS provider's, users'). */
  readonly deferral: Deferral = composeDeferral([awsDeferralProvider(new AwsClientFactory())]);
  private readonly started: Triggerer[] = [];
  private seq = 0;

  private constructor(
    readonly store: Store,
    readonly bus: StateChangeBus,
    readonly logger: Logger,
    /** Shard lease length for the harness's triggerers: short, but a loaded machine's event-loop stalls must fit in it (longer on a server as slow as FerretDB, where a heartbeat itself is slow). */
    readonly leaseMs: number,
  ) {
    this.runs = new DagRunTransitions(store, bus);
    this.tis = new TaskInstanceTransitions(store, bus);
    this.triggers = new TriggerTransitions(store, bus);
  }

  static async create(name: string): Promise<TriggererHarness> {
    const store = await Store.connect({ uri: MONGODB_URI, dbName: `deferflow_test_${name}_${randomBytes(4).toString('hex')}` });
    const logger = createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'warn', format: 'json' });
    const slowServer = await needsDocLocks(store.db);
    return new TriggererHarness(store, new StateChangeBus(), logger, slowServer ? 5_000 : 1_500);
  }

  /** A triggerer with test-speed intervals, assembled as a process is (AWS provider included); halted by close(). */
  triggerer(opts: Partial<TriggererOptions> = {}): Triggerer {
    const clients = opts.services?.awsClients;
    const t = new Triggerer({
      store: this.store,
      bus: this.bus,
      logger: this.logger,
      deferral: clients ? composeDeferral([awsDeferralProvider(clients)]) : this.deferral,
      heartbeatMs: 100,
      adoptAfterMs: this.leaseMs,
      pollIntervalMs: 50,
      drainTimeoutMs: 2_000,
      metrics: this.metrics,
      ...opts,
    });
    this.started.push(t);
    return t;
  }

  /** A running task instance deferred on `trigger`, through the real transitions. */
  async deferTask(like: TriggerLike, opts: { deadline?: Date | null; runId?: string } = {}): Promise<Deferred> {
    this.seq += 1;
    const runId = opts.runId ?? `run_${this.seq}`;
    const when = new Date(Date.UTC(2025, 0, 1) + this.seq * 60_000);
    const run = await this.runs.create({ dagId: 'dag', runId, runType: 'manual', logicalDate: when, dataInterval: { start: when, end: when } });
    await this.tis.createForRun(run, [{ task_id: 'wait', operator: 'TestOperator', queue: 'default', priority_weight: 1, retries: 1 }]);
    const tiId = `dag|${runId}|wait`;
    await this.tis.schedule(tiId);
    await this.tis.queue(tiId);
    const running = await this.claimExactly(tiId);
    const token = running.lease_token!;
    const trigger = serializeTrigger(like);
    const meta = this.deferral.triggerKinds.storageMetadata(trigger);
    const doc = await this.triggers.create({
      trigger,
      deadline: opts.deadline ?? null,
      ti: running,
      routingKeys: meta.routingKeys,
      description: meta.description,
    });
    const ti = await this.tis.defer(
      running,
      token,
      { triggerId: doc._id, nextMethod: 'resume', nextKwargs: { step: 2 }, triggerTimeout: opts.deadline ?? null },
      { heldMs: 5 },
    );
    if (!ti) throw new Error('defer lost its race');
    return { ti, trigger: doc, token };
  }

  /** Claim one specific queued task (other tests' tasks are not in this database). */
  private async claimExactly(tiId: string): Promise<TaskInstanceDoc> {
    const ti = await this.tis.claim({ workerId: 'worker-1', hostname: 'test', pid: 1, leaseMs: 60_000 });
    if (!ti || ti._id !== tiId) throw new Error(`expected to claim ${tiId}, got ${ti?._id}`);
    return ti;
  }

  async ti(id: string): Promise<TaskInstanceDoc> {
    const t = await this.store.taskInstances.findOne({ _id: id });
    if (!t) throw new Error(`no task instance ${id}`);
    return t;
  }

  trigger(id: string): Promise<TriggerDoc | null> {
    return this.store.triggers.findOne({ _id: id });
  }

  async waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 90_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v as T;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  waitForState(tiId: string, state: TaskInstanceDoc['state']): Promise<TaskInstanceDoc> {
    return this.waitFor(`${tiId} to be ${state}`, async () => {
      const t = await this.store.taskInstances.findOne({ _id: tiId });
      return t && t.state === state ? t : null;
    });
  }

  /** Halt every triggerer made so far (after each test: one a failed test left running must not hold the next test's shards). */
  async haltAll(): Promise<void> {
    for (const t of this.started) await t.halt();
  }

  async close(): Promise<void> {
    for (const t of this.started) await t.halt();
    await this.store.dropDatabase();
    await this.store.close();
  }
}

export function trainingEvent(name: string, status: string, extra: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: `evt-${name}-${status}-${Math.random().toString(16).slice(2)}`,
    'detail-type': 'SageMaker Training Job State Change',
    source: 'aws.sagemaker',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:sagemaker:us-east-1:000000000000:training-job/${name.toLowerCase()}`],
    detail: { TrainingJobName: name, TrainingJobStatus: status, ...extra },
  };
}
