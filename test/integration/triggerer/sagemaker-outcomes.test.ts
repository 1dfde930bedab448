/**
 * What a SageMaker event means to a held trigger, end to end through the triggerer (routing,
 * outcome, guarded resume) — the outcome table and the origin check, on the real test server:
 *   - an endpoint that goes OutOfService fails the deferred task at once (it used to wait for its
 *     timeout: the trigger's table knew only `Failed`);
 *   - a "Completed" event about a same-named job in another account or region is not about the
 *     trigger's job, whether the triggerer holding the trigger receives it or another one does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SageMakerJobTrigger } from '../../../src/providers/aws/deferral/sagemaker-job-trigger.ts';
import { PushEventSource } from '../../../triggerer/sources/push-event-source.ts';
import { TriggererHarness, trainingEvent } from './triggerer-harness.ts';

let h: TriggererHarness;
beforeAll(async () => {
  h = await TriggererHarness.create('sagemaker_outcomes');
});
afterAll(async () => {
  await h?.close();
});

const ARN = (resource: string, name: string) => `arn:aws:sagemaker:us-east-1:000000000000:${resource}/${name}`;

function endpointEvent(name: string, status: string) {
  return {
    version: '0',
    id: `ep-${name}-${status}`,
    'detail-type': 'SageMaker Endpoint State Change',
    source: 'aws.sagemaker',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [ARN('endpoint', name)],
    // EventBridge spells endpoint states IN_SERVICE, OUT_OF_SERVICE … (Describe: InService …).
    detail: { EndpointName: name, EndpointStatus: status },
  };
}

describe('SageMaker job trigger outcomes through the triggerer', () => {
  it('an endpoint that goes OutOfService fails the deferred task at once', async () => {
    const src = new PushEventSource('endpoint');
    const t = h.triggerer({ eventSources: [src] });
    await t.start();
    const d = await h.deferTask(
      new SageMakerJobTrigger({ job_type: 'endpoint', job_name: 'ep-oos', job_arn: ARN('endpoint', 'ep-oos'), check_on_start: false }),
    );
    await h.waitFor('claim', () => t.holds(d.trigger._id));
    await src.push(endpointEvent('ep-oos', 'UPDATING'));
    expect((await h.ti(d.ti._id)).state).toBe('deferred');
    await src.push(endpointEvent('ep-oos', 'OUT_OF_SERVICE'));
    const ti = await h.ti(d.ti._id);
    expect(ti.state).toBe('scheduled');
    expect(JSON.parse(ti.trigger_event!)).toEqual({ status: 'failed', job_name: 'ep-oos', message: 'Endpoint ep-oos ended OutOfService' });
    await t.stop();
  });

  it('a Completed event from another account or region resumes nothing, here or from another triggerer', async () => {
    const local = new PushEventSource('holder');
    const shared = new PushEventSource('other-triggerer');
    const holder = h.triggerer({ eventSources: [local] });
    const other = h.triggerer({ eventSources: [shared] });
    await holder.start();
    const d = await h.deferTask(new SageMakerJobTrigger({ job_type: 'training', job_name: 'J', job_arn: ARN('training-job', 'j'), check_on_start: false }));
    await h.waitFor('claim', () => holder.holds(d.trigger._id));
    await other.start();
    const forged = {
      ...trainingEvent('J', 'Completed'),
      account: '111111111111',
      region: 'eu-west-1',
      resources: [],
    };
    await local.push(forged);
    await shared.push(forged);
    await shared.push({ ...forged, account: '000000000000' });
    expect((await h.ti(d.ti._id)).state).toBe('deferred');
    // The job's own event does resume it.
    await shared.push(trainingEvent('J', 'Completed'));
    expect((await h.ti(d.ti._id)).state).toBe('scheduled');
    await holder.stop();
    await other.stop();
  });
});
