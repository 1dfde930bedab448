import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { NEVER, map, type Observable } from 'rxjs';
import pino from 'pino';
import { sageMakerJobTriggerKind, sageMakerJobEvent, type SageMakerJobKwargs } from '../../../../src/providers/aws/deferral/sagemaker-job-trigger.ts';
import { syntheticSageMakerEvent } from '../../../../src/providers/aws/deferral/sagemaker-events.ts';
import type { EventBridgeEvent } from '../../../../src/events/eventbridge-event.ts';
import type { TriggerRunContext } from '../../../../src/triggers/trigger-kind.ts';
import type { WatchedJob } from '../../../../src/providers/aws/deferral/sagemaker-watcher.ts';

const kw: SageMakerJobKwargs = { job_type: 'training', job_name: 'Train-1' };
const training = (status: string, name = 'train-1'): EventBridgeEvent =>
  syntheticSageMakerEvent({ type: 'training', name, status, region: 'us-east-1', origin: 'test', failureReason: status === 'Failed' ? 'bad data' : null });

function ctxFor(events$: Observable<EventBridgeEvent>, watched: WatchedJob[] = []): TriggerRunContext {
  const eventsFor = (key: string) => {
    expect(key).toBe('sagemaker:training-job:train-1');
    return events$;
  };
  return {
    triggerId: 't1',
    deadline: null,
    logger: pino({ level: 'silent' }),
    eventsFor,
    deliveriesFor: (key) => eventsFor(key).pipe(map((event) => ({ event, delivery: { hold: () => undefined } }))),
    // The trigger finds its watcher under this one name: a watcher anywhere else is no watcher.
    services: { sagemakerWatcher: { watch: (job: WatchedJob) => (watched.push(job), NEVER) } },
    createdAt: new Date('2025-01-01T00:00:00Z'),
  };
}

const status = (e: { payload: unknown }) => (e.payload as { status: string }).status;

describe('aws.SageMakerJobTrigger (marbles)', () => {
  it('ignores non-terminal states and fires once on the first terminal one', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ hot, expectObservable }) => {
      const events$ = hot('-i-s-c-f-', { i: training('InProgress'), s: training('Stopping'), c: training('Completed'), f: training('Failed') });
      expectObservable(sageMakerJobTriggerKind.run(kw, ctxFor(events$)).pipe(map(status))).toBe('-----(x|)', { x: 'success' });
    });
  });

  it('terminal wins: a later non-terminal or duplicate event cannot re-fire it', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ hot, expectObservable }) => {
      const events$ = hot('-f-f-i-c-', { f: training('Failed'), i: training('InProgress'), c: training('Completed') });
      expectObservable(sageMakerJobTriggerKind.run(kw, ctxFor(events$)).pipe(map(status))).toBe('-(x|)', { x: 'failed' });
    });
  });

  it('registers the job with the watcher (Describe at start + sweeps), default connection aws_default', () => {
    const watched: WatchedJob[] = [];
    sageMakerJobTriggerKind.run(kw, ctxFor(NEVER, watched)).subscribe().unsubscribe();
    expect(watched).toEqual([
      {
        jobType: 'training',
        jobName: 'Train-1',
        connId: 'aws_default',
        region: null,
        since: new Date('2025-01-01T00:00:00Z'),
        checkOnStart: true,
        // The job's own events showing it running after the deferral: the start-up Describe is skipped then.
        seenRunning$: expect.anything(),
      },
    ]);
  });

  it('fromEvent maps terminal events of its own job only (Airflow payload shape)', () => {
    expect(sageMakerJobEvent(kw, training('Failed'))?.payload).toEqual({
      status: 'failed',
      job_name: 'Train-1',
      message: 'Training job Train-1 ended Failed: bad data',
    });
    expect(sageMakerJobEvent(kw, training('Stopped'))?.payload).toMatchObject({ status: 'stopped' });
    expect(sageMakerJobEvent(kw, training('InProgress'))).toBeNull();
    expect(sageMakerJobEvent(kw, training('Completed', 'other'))).toBeNull();
    const ep = syntheticSageMakerEvent({ type: 'endpoint', name: 'ep', status: 'InService', region: 'r', origin: 't' });
    expect(sageMakerJobEvent({ job_type: 'endpoint', job_name: 'ep' }, ep)?.payload).toEqual({
      status: 'success',
      job_name: 'ep',
      message: 'Endpoint ep is InService',
    });
    expect(
      sageMakerJobEvent(
        { job_type: 'endpoint', job_name: 'ep' },
        syntheticSageMakerEvent({ type: 'endpoint', name: 'ep', status: 'Updating', region: 'r', origin: 't' }),
      ),
    ).toBeNull();
  });

  it('stores its routing key with the trigger', () => {
    expect(sageMakerJobTriggerKind.routingKeys!(kw)).toEqual(['sagemaker:training-job:train-1']);
  });

  it('an endpoint that goes OutOfService or whose update cannot roll back fails the task (it will never be InService)', () => {
    const endpoint = { job_type: 'endpoint', job_name: 'ep' } as const;
    for (const status of ['OutOfService', 'OUT_OF_SERVICE', 'UpdateRollbackFailed', 'UPDATE_ROLLBACK_FAILED', 'Failed', 'FAILED']) {
      const e = syntheticSageMakerEvent({ type: 'endpoint', name: 'ep', status, region: 'us-east-1', origin: 't' });
      expect(sageMakerJobEvent(endpoint, e)?.payload, status).toMatchObject({ status: 'failed', job_name: 'ep' });
    }
    for (const status of ['Creating', 'UPDATING', 'SystemUpdating', 'RollingBack']) {
      expect(
        sageMakerJobEvent(endpoint, syntheticSageMakerEvent({ type: 'endpoint', name: 'ep', status, region: 'us-east-1', origin: 't' })),
        status,
      ).toBeNull();
    }
  });

  it('an event from another account or region is not about the job, however its name matches (issue 14.2)', () => {
    const own = { ...kw, job_arn: 'arn:aws:sagemaker:us-east-1:000000000000:training-job/train-1' };
    const forged: EventBridgeEvent = {
      version: '0',
      id: 'x',
      source: 'aws.sagemaker',
      'detail-type': 'SageMaker Training Job State Change',
      account: '111111111111',
      region: 'eu-west-1',
      time: '2026-01-01T00:00:00Z',
      resources: [],
      detail: { TrainingJobName: 'Train-1', TrainingJobStatus: 'Completed' },
    };
    expect(sageMakerJobEvent(own, forged)).toBeNull();
    expect(sageMakerJobEvent(own, { ...forged, region: 'us-east-1' })).toBeNull();
    expect(sageMakerJobEvent(own, { ...forged, account: '000000000000' })).toBeNull();
    expect(sageMakerJobEvent(own, { ...forged, account: '000000000000', region: 'us-east-1' })?.payload).toMatchObject({ status: 'success' });
    // Without an ARN the trigger still holds its region, when it has one.
    expect(sageMakerJobEvent({ ...kw, region_name: 'us-east-1' }, forged)).toBeNull();
  });

  it('treats every event field as untrusted: malformed names, statuses and contradicting ARNs are no event', () => {
    const base = training('Completed');
    const bad: EventBridgeEvent[] = [
      { ...base, detail: { TrainingJobName: 42, TrainingJobStatus: 'Completed' } },
      { ...base, detail: { TrainingJobName: 'train-1', TrainingJobStatus: { $ne: null } } },
      { ...base, detail: { TrainingJobName: 'train-1/../x', TrainingJobStatus: 'Completed' } },
      {
        ...base,
        detail: { TrainingJobName: 'train-1', TrainingJobStatus: 'Completed' },
        resources: ['arn:aws:sagemaker:us-east-1:000000000000:training-job/other'],
      },
      { ...base, detail: null as unknown as Record<string, unknown> },
    ];
    for (const e of bad) expect(sageMakerJobEvent(kw, e)).toBeNull();
    const reason = 'x'.repeat(10_000);
    const failed = { ...base, detail: { TrainingJobName: 'train-1', TrainingJobStatus: 'Failed', FailureReason: reason } };
    const payload = sageMakerJobEvent(kw, failed)?.payload as { message: string } | undefined;
    expect(payload?.message.length).toBeLessThan(1_200);
  });
});
