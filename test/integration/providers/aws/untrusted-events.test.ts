/**
 * Issue 14 point 2: events are untrusted. A "Completed" event for a same-named job in another
 * region or account must not resume a task whose own job is still InProgress, and a resume whose
 * Describe is not terminal must never succeed. Real local AWS (the job really runs, slowly), a
 * Runtime with scheduler, worker and triggerer, and the exact event from the issue pushed in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { DAG } from '../../../../src/dag/index.ts';
import { Runtime } from '../../../../src/runtime/runtime.ts';
import { createLogger } from '../../../../src/log/logger.ts';
import { SageMakerTrainingOperatorAsync } from '../../../../src/providers/aws/operators/sagemaker-training-operator-async.ts';
import { taskInstanceId } from '../../../../src/store/schema.ts';
import { CONN_ID, executeExpectingDeferral, makeTry, startHarness, trainingConfig, tryCopy, uploadIris, type Harness } from './harness.ts';
import { poller } from '../../../support/wait-for.ts';

const logger = createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'silent', format: 'json' });
const waitFor = poller({ timeoutMs: 60_000, intervalMs: 50 });
const JOB = 'untrusted-events-job';

let h: Harness;
let data: { train: string; test: string };
let rt: Runtime;

beforeAll(async () => {
  // Each status step takes 1.5 s: the job stays InProgress long enough to forge an event at it.
  h = await startHarness('sm_untrusted', { faults: { stageDelayMs: 1_500 } });
  data = await uploadIris(h, 'iris-untrusted');
  const dag = new DAG({ dagId: 'sm_untrusted', schedule: null, startDate: '2025-01-01', defaultArgs: { retries: 0 } }, () => {
    new SageMakerTrainingOperatorAsync({
      taskId: 'train',
      aws_conn_id: CONN_ID,
      check_interval: 0.2,
      print_log: false,
      config: trainingConfig(JOB, data.train),
    });
  });
  rt = await Runtime.create({
    store: h.store,
    dags: [dag],
    logger,
    services: { awsClients: h.clients },
    components: {
      scheduler: { loopIntervalMs: 50 },
      worker: { pollIntervalMs: 50, slots: 2, logFlushMs: 50 },
      // No event queue here: the job's real end is found by the reconcile sweep.
      triggerer: { pollIntervalMs: 50, heartbeatMs: 200, sweepIntervalMs: 500 },
    },
  });
  await rt.start();
}, 90_000);

afterAll(async () => {
  await rt?.stop();
  await h?.close();
});

describe('SageMaker events are untrusted', () => {
  it('a Completed event from another account and region does not resume a task whose job is InProgress', { timeout: 120_000 }, async () => {
    const run = await rt.triggerDag('sm_untrusted', { runId: 'forged' });
    const tiId = taskInstanceId('sm_untrusted', run.run_id, 'train');
    await waitFor('the task to defer', async () => (await rt.store.taskInstances.findOne({ _id: tiId }))?.state === 'deferred');
    const status = async () => (await h.clients.sagemaker(CONN_ID).send(new DescribeTrainingJobCommand({ TrainingJobName: JOB }))).TrainingJobStatus;
    expect(await status()).toBe('InProgress');

    // The event of the issue, verbatim but for the job name.
    await rt.emitAndWait({
      version: '0',
      id: 'x',
      source: 'aws.sagemaker',
      'detail-type': 'SageMaker Training Job State Change',
      account: '111111111111',
      region: 'eu-west-1',
      time: '2026-01-01T00:00:00Z',
      resources: [],
      detail: { TrainingJobName: JOB, TrainingJobStatus: 'Completed' },
    });
    // The ack comes only after any resume it caused is persisted: had it resumed, the task would
    // be scheduled (or further) now.
    expect((await rt.store.taskInstances.findOne({ _id: tiId }))?.state).toBe('deferred');

    // Its own job ends for real and the task succeeds from that.
    const done = await rt.waitForRun('sm_untrusted', run.run_id, { timeoutMs: 90_000 });
    expect(done.state).toBe('success');
    const xcom = await rt.store.xcom.findOne({ dag_id: 'sm_untrusted', run_id: run.run_id, task_id: 'train', key: 'return_value' });
    expect(JSON.parse(xcom!.value).Training.TrainingJobStatus).toBe('Completed');
  });

  it('a resume whose Describe is not terminal defers again instead of succeeding', { timeout: 60_000 }, async () => {
    const op = new SageMakerTrainingOperatorAsync({
      taskId: 'train_direct',
      aws_conn_id: CONN_ID,
      check_interval: 0.2,
      print_log: false,
      config: trainingConfig('untrusted-resume-job', data.train),
    });
    const t = await makeTry(h, op);
    const d = await executeExpectingDeferral(tryCopy(op), t.ctx);
    const kwargs = d.request.kwargs as Record<string, unknown>;
    // A success payload while the job is still InProgress (a forged or misrouted event).
    const resumed = tryCopy(op);
    let outcome: unknown;
    try {
      outcome = await resumed.execute_complete(t.ctx, {
        ...kwargs,
        event: { status: 'success', job_name: 'untrusted-resume-job', message: 'Training job untrusted-resume-job completed' },
      });
    } catch (e) {
      outcome = e;
    }
    expect(outcome).toMatchObject({ name: 'TaskDeferred' });
  });
});
