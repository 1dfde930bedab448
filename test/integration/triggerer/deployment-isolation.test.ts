/**
 * Issue 14 point 4: two deployments sharing one AWS account must not consume each other's events.
 * Two deployments (two databases) on one local AWS, each with the event stream `aws setup-events`
 * makes for it (its own queue; a rule matching only jobs tagged with its deployment id) and its
 * own triggerer. Sweeps are off and no trigger checks its job at start, so every resume below
 * comes from an event: a lost event would leave a task deferred.
 *
 * And the fallback: a queue both deployments' events reach (an older, unfiltered set-up) — a
 * triggerer hands the other deployment's events back and never deletes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { SqsEventSource } from '../../../triggerer/sources/sqs-event-source.ts';
import { SageMakerJobTrigger } from '../../../src/providers/aws/deferral/sagemaker-job-trigger.ts';
import { setupSageMakerEvents } from '../../../src/providers/aws/setup-events.ts';
import { findDeploymentQueue, othersEventFor } from '../../../src/providers/aws/deployment-events.ts';
import { DEPLOYMENT_TAG } from '../../../src/providers/aws/sagemaker/ownership.ts';
import { deploymentIdOf } from '../../../src/store/repositories/deployment-repository.ts';
import { startTestAws, ROLE, KNN_IMAGE, type TestAws } from '../../local-aws/helpers.ts';
import { TriggererHarness, type Deferred } from './triggerer-harness.ts';

let aws: TestAws;
let a: TriggererHarness;
let b: TriggererHarness;
let idA: string;
let idB: string;

const createJob = (name: string, deployment: string) =>
  aws.sm.send(
    new CreateTrainingJobCommand({
      TrainingJobName: name,
      AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
      RoleArn: ROLE,
      OutputDataConfig: { S3OutputPath: 's3://bucket/out' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 60 },
      // What the operators add to every job they create.
      Tags: [{ Key: DEPLOYMENT_TAG, Value: deployment }],
    }),
  );

const onlyEvents = (name: string) => new SageMakerJobTrigger({ job_type: 'training', job_name: name, check_on_start: false });

async function messagesIn(queueUrl: string): Promise<number> {
  const r = await aws.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(r.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

beforeAll(async () => {
  aws = await startTestAws({ faults: { simulateJobs: true, stageDelayMs: 60 } });
  a = await TriggererHarness.create('isolation_a');
  b = await TriggererHarness.create('isolation_b');
  idA = await deploymentIdOf(a.store);
  idB = await deploymentIdOf(b.store);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await aws?.close();
});

describe('two deployments on one AWS account', () => {
  it('each consumes only its own events through its own stream, and no event is lost', async () => {
    expect(idA).not.toBe(idB);
    const clients = { sqs: () => aws.sqs, eventBridge: () => aws.eb };
    const wa = await setupSageMakerEvents({ clients, deploymentId: idA });
    const wb = await setupSageMakerEvents({ clients, deploymentId: idB });
    expect(wa.queueUrl).toContain(`deferflow-sagemaker-events-${idA}`);
    expect(wb.queueUrl).not.toBe(wa.queueUrl);
    // The triggerer finds its deployment's queue by name, as `deferflow triggerer` does.
    expect(await findDeploymentQueue(aws.sqs, idA)).toBe(wa.queueUrl);

    const source = (url: string, id: string) => new SqsEventSource({ client: aws.sqs, queueUrl: url, waitTimeSeconds: 1, othersEvent: othersEventFor(id) });
    const ta = a.triggerer({ eventSources: [source(wa.queueUrl, idA)], sweepIntervalMs: 600_000 });
    const tb = b.triggerer({ eventSources: [source(wb.queueUrl, idB)], sweepIntervalMs: 600_000 });
    await Promise.all([ta.start(), tb.start()]);

    const deferredA: Deferred[] = [];
    const deferredB: Deferred[] = [];
    for (let i = 0; i < 3; i++) {
      deferredA.push(await a.deferTask(onlyEvents(`iso-a-${i}`)));
      deferredB.push(await b.deferTask(onlyEvents(`iso-b-${i}`)));
    }
    await a.waitFor('A holds its triggers', () => deferredA.every((d) => ta.holds(d.trigger._id)));
    await b.waitFor('B holds its triggers', () => deferredB.every((d) => tb.holds(d.trigger._id)));
    for (let i = 0; i < 3; i++) {
      await createJob(`iso-a-${i}`, idA);
      await createJob(`iso-b-${i}`, idB);
    }
    for (const d of deferredA) expect(JSON.parse((await a.waitForState(d.ti._id, 'scheduled')).trigger_event!)).toMatchObject({ status: 'success' });
    for (const d of deferredB) expect(JSON.parse((await b.waitForState(d.ti._id, 'scheduled')).trigger_event!)).toMatchObject({ status: 'success' });
    // Each queue saw only its deployment's jobs: nothing of the other's is left in it, and every
    // event it received was about one of its own triggers (routed or a duplicate, never a stray).
    await a.waitFor('both queues drained', async () => (await messagesIn(wa.queueUrl)) === 0 && (await messagesIn(wb.queueUrl)) === 0);
    const unroutable = async (h: TriggererHarness) => (await h.metrics.eventsUnroutable.get()).values.reduce((s, v) => s + v.value, 0);
    expect(await unroutable(a)).toBe(0);
    expect(await unroutable(b)).toBe(0);
    await ta.stop();
    await tb.stop();
  });

  it("a queue both deployments' events reach: the other deployment's events are handed back, never deleted", async () => {
    // An unfiltered stream (what a set-up without a deployment id makes), consumed by A only.
    const shared = await setupSageMakerEvents({ clients: { sqs: () => aws.sqs, eventBridge: () => aws.eb }, queueName: 'isolation-shared' });
    const ta = a.triggerer({
      eventSources: [new SqsEventSource({ client: aws.sqs, queueUrl: shared.queueUrl, waitTimeSeconds: 1, othersEvent: othersEventFor(idA) })],
      sweepIntervalMs: 600_000,
    });
    await ta.start();
    const mine = await a.deferTask(onlyEvents('shared-a'));
    await a.waitFor('A holds it', () => ta.holds(mine.trigger._id));
    await createJob('shared-b', idB);
    await createJob('shared-a', idA);
    await a.waitForState(mine.ti._id, 'scheduled');
    // B's job has ended too; its events stay in the queue for B (or its dead-letter queue), A deleted none of them.
    // (5 events per job: Starting, Downloading, Training, Uploading, Completed.)
    const left = async () => (await messagesIn(shared.queueUrl)) + (await messagesIn(shared.dlqUrl));
    await a.waitFor('B job events published', async () => (await left()) >= 5);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await left()).toBe(5);
    await ta.stop();
  });
});
