import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { NEVER, map, type Observable } from 'rxjs';
import pino from 'pino';
import { sageMakerJobTriggerKind, sageMakerJobEvent, type SageMakerJobKwargs } from '../../../src/triggers/sagemaker-job-trigger.ts';
import { syntheticSageMakerEvent } from '../../../src/events/sagemaker-job-types.ts';
import type { EventBridgeEvent } from '../../../src/events/eventbridge-event.ts';
import type { TriggerRunContext } from '../../../src/triggers/trigger-kind.ts';
import type { WatchedJob } from '../../../src/triggers/sagemaker-watcher.ts';

const kw: SageMakerJobKwargs = { job_type: 'training', job_name: 'Train-1' };
const training = (status: string, name = 'train-1'): EventBridgeEvent =>
  syntheticSageMakerEvent({ type: 'training', name, status, region: 'us-east-1', origin: 'test', failureReason: status === 'Failed' ? 'bad data' : null });

function ctxFor(events$: Observable<EventBridgeEvent>, watched: WatchedJob[] = []): TriggerRunContext {
  return {
    triggerId: 't1',
    deadline: null,
    logger: pino({ level: 'silent' }),
    eventsFor: (key) => {
      expect(key).toBe('sagemaker:training-job:train-1');
      return events$;
    },
    service: <T>(name: string): T => {
      expect(name).toBe('sagemakerWatcher');
      return { watch: (job: WatchedJob) => (watched.push(job), NEVER) } as T;
    },
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
      { jobType: 'training', jobName: 'Train-1', connId: 'aws_default', region: null, since: new Date('2025-01-01T00:00:00Z'), checkOnStart: true },
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
});
