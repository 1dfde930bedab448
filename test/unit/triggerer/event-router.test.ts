import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map, take } from 'rxjs';
import { EventRouter } from '../../../triggerer/routing/event-router.ts';
import { RoutingKeyIndex } from '../../../src/events/routing-keys.ts';
import { sageMakerRoutingKeys } from '../../../src/providers/aws/deferral/sagemaker-events.ts';
import type { EventBridgeEvent } from '../../../src/events/eventbridge-event.ts';

const ev = (name: string, status: string, detailType = 'SageMaker Training Job State Change'): EventBridgeEvent => ({
  version: '0',
  id: `${name}-${status}`,
  'detail-type': detailType,
  source: 'aws.sagemaker',
  account: '1',
  time: '2025-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: detailType.includes('Endpoint') ? { EndpointName: name, EndpointStatus: status } : { TrainingJobName: name, TrainingJobStatus: status },
});

const newScheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

/** Routing keys as a process composes them with the AWS provider. */
const index = new RoutingKeyIndex([['aws.sagemaker', sageMakerRoutingKeys]]);
const routingKeysOf = (e: EventBridgeEvent) => index.keysOf(e);

describe('routing keys', () => {
  it('derives a specific key per SageMaker resource (lower-cased), the generic key and *', () => {
    expect(routingKeysOf(ev('My-Job', 'Completed'))).toEqual(['sagemaker:training-job:my-job', 'aws.sagemaker|SageMaker Training Job State Change', '*']);
    expect(routingKeysOf(ev('ep', 'InService', 'SageMaker Endpoint State Change'))[0]).toBe('sagemaker:endpoint:ep');
  });

  it('falls back to the resource ARN when the detail lacks the name', () => {
    const e = { ...ev('x', 'Completed'), detail: { TrainingJobStatus: 'Completed' }, resources: ['arn:aws:sagemaker:us-east-1:1:training-job/from-arn'] };
    expect(routingKeysOf(e)[0]).toBe('sagemaker:training-job:from-arn');
  });
});

describe('EventRouter (marbles)', () => {
  it('delivers each event only to the subscribers of its keys', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const router = new EventRouter(index);
      const events = { a: ev('job-a', 'InProgress'), b: ev('job-b', 'Completed'), c: ev('job-a', 'Completed') };
      const source = hot('-a-b-c-|', events);
      source.subscribe((e) => router.route(e));
      expectObservable(router.eventsFor('sagemaker:training-job:job-a').pipe(map((e) => e.detail.TrainingJobStatus as string))).toBe('-x---y-', {
        x: 'InProgress',
        y: 'Completed',
      });
      expectObservable(router.eventsFor('sagemaker:training-job:job-b').pipe(map((e) => e.detail.TrainingJobStatus as string))).toBe('---z---', {
        z: 'Completed',
      });
    });
  });

  it('forgets a key once its last subscriber unsubscribes (take(1) mid-delivery included)', () => {
    newScheduler().run(({ hot, expectObservable, flush }) => {
      const router = new EventRouter(index);
      const source = hot('-a-a-|', { a: ev('job-a', 'Completed') });
      const results: number[] = [];
      source.subscribe((e) => results.push(router.route(e).delivered));
      expectObservable(
        router.eventsFor('sagemaker:training-job:job-a').pipe(
          take(1),
          map(() => 'x'),
        ),
      ).toBe('-(x|)');
      flush();
      expect(results).toEqual([1, 0]);
      expect(router.has('sagemaker:training-job:job-a')).toBe(false);
      expect(router.size).toBe(0);
    });
  });

  it('reports unheld keys so the dispatcher can look them up in MongoDB', () => {
    const router = new EventRouter(index);
    const sub = router.eventsFor('sagemaker:training-job:mine').subscribe();
    const r = router.route(ev('mine', 'Completed'));
    expect(r.delivered).toBe(1);
    expect(r.unheldKeys).toEqual(['aws.sagemaker|SageMaker Training Job State Change', '*']);
    sub.unsubscribe();
  });

  it('routes in O(1): 100k subscribers, one event reaches exactly one', () => {
    const router = new EventRouter(index);
    let hits = 0;
    const subs = [];
    for (let i = 0; i < 100_000; i++) subs.push(router.eventsFor(`sagemaker:training-job:job-${i}`).subscribe(() => hits++));
    expect(router.route(ev('job-77777', 'Completed')).delivered).toBe(1);
    expect(hits).toBe(1);
    for (const s of subs) s.unsubscribe();
    expect(router.size).toBe(0);
  });
});
