/**
 * Lease fencing (issue 14.0): a worker paused past its lease (GC pause, frozen VM, SIGSTOP) must
 * not leave a second SageMaker job running after its try was retried elsewhere.
 *
 * The pause is deterministic: worker A never renews its lease by itself (heartbeat far beyond the
 * 1.5 s lease), and a middleware on A's own SageMaker client holds one chosen call until the test
 * releases it — A's whole try stands still there, as in a paused process. Meanwhile its lease
 * expires, the scheduler reaps the try, worker B runs the retry and submits its job. Then A is
 * released and the jobs submitted for the task instance are counted.
 *
 * The job's base name is taken by an older job, so both tries pick `<name>-<epoch s>` names of
 * their own seconds — the case where Create itself cannot tell the two tries apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTrainingJobCommand, ListTrainingJobsCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DAG } from '../../../src/dag/index.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { Worker } from '../../../src/worker/worker.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { StateChangeBus } from '../../../src/store/state-change-bus.ts';
import { DagRunTransitions } from '../../../src/store/transitions/dag-run-transitions.ts';
import { DagBag } from '../../../src/dag-processing/dag-bag.ts';
import { AwsClientFactory } from '../../../src/providers/aws/aws-clients.ts';
import { SageMakerTrainingOperatorAsync } from '../../../src/providers/aws/operators/sagemaker-training-operator-async.ts';
import { CONN_ID, startHarness, trainingConfig, uploadIris, type Harness } from '../providers/aws/harness.ts';
import { poller } from '../../support/wait-for.ts';

const waitFor = poller({ timeoutMs: 60_000, intervalMs: 20 });
const logger = createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'silent', format: 'json' });
let h: Harness;
let train: string;

/** A client factory whose SageMaker client holds the first call `matches` picks until `release()`. */
class PausingClients extends AwsClientFactory {
  private readonly proxies = new WeakMap<SageMakerClient, SageMakerClient>();
  private gate: Promise<void> | null = null;
  private open: () => void = () => undefined;
  paused = false;

  constructor(
    h: Harness,
    private readonly matches: (command: string, input: Record<string, unknown>) => boolean,
  ) {
    super({ connections: h.connections });
  }

  override sagemaker(connId?: string | null, region?: string | null): SageMakerClient {
    const client = super.sagemaker(connId, region);
    let proxy = this.proxies.get(client);
    if (!proxy) {
      // The factory's clients resolve their connection in `send`: hold the call there.
      const send = client.send.bind(client) as (command: unknown, options?: unknown) => Promise<unknown>;
      const held = async (command: { constructor: { name: string }; input: Record<string, unknown> }, options?: unknown) => {
        if (!this.gate && this.matches(command.constructor.name, command.input)) {
          this.gate = new Promise<void>((r) => {
            this.open = r;
          });
          this.paused = true;
          await this.gate;
        }
        return send(command, options);
      };
      // A stand-in of the same class (instanceof holds) that forwards everything but `send`.
      proxy = new Proxy(Object.create(Object.getPrototypeOf(client)) as SageMakerClient, {
        get: (_t, key) => (key === 'send' ? held : Reflect.get(client, key, client)),
      });
      this.proxies.set(client, proxy);
    }
    return proxy;
  }

  release(): void {
    this.open();
  }
}

async function jobsNamed(prefix: string): Promise<Array<{ name: string; status: string }>> {
  const out = await h.clients.sagemaker(CONN_ID).send(new ListTrainingJobsCommand({ NameContains: prefix, MaxResults: 100 }));
  return (out.TrainingJobSummaries ?? []).map((j) => ({ name: String(j.TrainingJobName), status: String(j.TrainingJobStatus) }));
}

/** The scenario: returns the jobs of the task instance (the older base-name job excluded) and its row. */
async function pausedWorkerScenario(name: string, pauseAt: (command: string, input: Record<string, unknown>) => boolean) {
  // The base name is taken: both tries go for `<name>-<epoch seconds>`.
  const older = trainingConfig(name, train, {
    HyperParameters: { predictor_type: 'classifier', feature_dim: '4', k: '3', sample_size: '120' },
    ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
  });
  await h.clients.sagemaker(CONN_ID).send(new CreateTrainingJobCommand(older as never));
  const dag = new DAG({ dagId: `fence_${name.replace(/-/g, '_')}`, defaultArgs: { retries: 1, retry_delay: 0 } }, () => {
    new SageMakerTrainingOperatorAsync({ taskId: 'train', aws_conn_id: CONN_ID, check_interval: 0.1, print_log: false, config: trainingConfig(name, train) });
  });
  const bag = DagBag.fromDags([dag]);
  await bag.syncToStore(h.store);
  await h.store.dags.updateMany({ _id: dag.dagId }, { $set: { is_paused: false } });
  const pausing = new PausingClients(h, pauseAt);
  const other = new AwsClientFactory({ connections: h.connections });
  const scheduler = new Scheduler({ store: h.store, dagBag: bag, bus: new StateChangeBus(), logger, loopIntervalMs: 50 });
  // A: renews its lease only through fences; B: an ordinary worker, started once A stands still.
  const a = new Worker({
    store: h.store,
    dagBag: bag,
    bus: new StateChangeBus(),
    logger,
    slots: 1,
    leaseMs: 1500,
    heartbeatMs: 600_000,
    pollIntervalMs: 50,
    id: 'worker-a',
    services: { awsClients: pausing },
  });
  const b = new Worker({
    store: h.store,
    dagBag: bag,
    bus: new StateChangeBus(),
    logger,
    slots: 1,
    leaseMs: 30_000,
    pollIntervalMs: 50,
    id: 'worker-b',
    services: { awsClients: other },
  });
  const tiId = `${dag.dagId}|r|train`;
  try {
    await scheduler.start();
    await a.start();
    const when = new Date();
    await new DagRunTransitions(h.store).create({
      dagId: dag.dagId,
      runId: 'r',
      runType: 'manual',
      logicalDate: when,
      dataInterval: { start: when, end: when },
    });
    await waitFor('worker A to stand still', () => pausing.paused);
    await b.start();
    // A's lease runs out, the scheduler reaps try 1, B runs try 2, submits its job and defers.
    const deferred = await waitFor('the retry to submit its job and defer', async () => {
      const ti = await h.store.taskInstances.findOne({ _id: tiId });
      return ti?.state === 'deferred' && ti.try_number === 2 ? ti : null;
    });
    pausing.release();
    await waitFor('worker A to give its try up', () => a.slotsInUse === 0);
    const ti = await h.store.taskInstances.findOne({ _id: tiId });
    const jobs = (await jobsNamed(name)).filter((j) => j.name !== name);
    return { jobs, ti, deferred };
  } finally {
    await a.stop({ timeoutMs: 1000 });
    await b.stop({ timeoutMs: 1000 });
    await scheduler.stop();
    other.destroy();
    pausing.destroy();
  }
}

beforeAll(async () => {
  h = await startHarness('lease_fencing', { faults: { stageDelayMs: 15, simulateJobs: true, jobDurationMs: 300_000 } });
  train = (await uploadIris(h, 'fencing')).train;
});
afterAll(async () => {
  await h?.close();
});

describe('lease fencing of SageMaker submits', () => {
  it('a worker paused while choosing its job name submits nothing once it wakes up after its try was retried', async () => {
    // Held while choosing its `<name>-<epoch>` name: Create answered that the base name is taken,
    // and the List that picks the suffix (no probe of the candidate: Create is the probe) is where
    // it stands still — after the name check, before its Create.
    const { jobs, ti, deferred } = await pausedWorkerScenario('fence-name', (cmd) => cmd === 'ListTrainingJobsCommand');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.status).toBe('InProgress');
    // The row is still the retry's: the woken worker wrote nothing.
    expect(ti?.state).toBe('deferred');
    expect(ti?.try_number).toBe(2);
    expect(ti?.version).toBe(deferred.version);
  }, 120_000);

  it('a worker paused between its fence and Create stops the job it submitted: one job keeps running per task instance', async () => {
    // The Create of its `<name>-<epoch>` name (its first Create, of the taken base name, only learns the name is taken).
    const { jobs, ti } = await pausedWorkerScenario(
      'fence-create',
      (cmd, input) => cmd === 'CreateTrainingJobCommand' && /-\d{10}$/.test(String(input.TrainingJobName)),
    );
    expect(jobs).toHaveLength(2);
    const running = jobs.filter((j) => j.status === 'InProgress');
    const stopped = jobs.filter((j) => j.status === 'Stopping' || j.status === 'Stopped');
    expect(running).toHaveLength(1);
    expect(stopped).toHaveLength(1);
    // The running one is the retry's: the job its deferral waits on.
    expect(JSON.parse(ti?.next_kwargs ?? '{}').job_name).toBe(running[0]!.name);
    expect(ti?.state).toBe('deferred');
    expect(ti?.try_number).toBe(2);
  }, 120_000);
});
