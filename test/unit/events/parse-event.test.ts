import { describe, expect, it } from 'vitest';
import { parseEventBridgeEnvelope } from '../../../src/events/parse-event.ts';
import { backoffDelayMs, isThrottlingError } from '../../../src/events/backoff.ts';

const envelope = {
  version: '0',
  id: 'e1',
  'detail-type': 'SageMaker Training Job State Change',
  source: 'aws.sagemaker',
  account: '1',
  time: 't',
  region: 'r',
  resources: ['arn'],
  detail: { TrainingJobName: 'j' },
};

describe('parseEventBridgeEnvelope (SQS bodies)', () => {
  it('accepts the raw EventBridge envelope and the SNS-wrapped one', () => {
    expect(parseEventBridgeEnvelope(JSON.stringify(envelope))).toEqual({ ok: true, event: envelope });
    expect(parseEventBridgeEnvelope(JSON.stringify({ Type: 'Notification', Message: JSON.stringify(envelope) }))).toEqual({ ok: true, event: envelope });
  });

  it('rejects malformed bodies with a reason instead of throwing', () => {
    expect(parseEventBridgeEnvelope('not json')).toMatchObject({ ok: false, reason: expect.stringContaining('not JSON') });
    expect(parseEventBridgeEnvelope('[]')).toMatchObject({ ok: false });
    expect(parseEventBridgeEnvelope(JSON.stringify({ 'detail-type': 'x' }))).toMatchObject({ ok: false, reason: 'missing "source"' });
    expect(parseEventBridgeEnvelope(undefined)).toMatchObject({ ok: false, reason: 'empty body' });
  });
});

describe('backoff', () => {
  it('grows exponentially with jitter and is capped', () => {
    const at = (n: number, r: number) => backoffDelayMs(n, { baseMs: 100, maxMs: 1000, random: () => r });
    expect([at(1, 0), at(1, 1)]).toEqual([50, 100]);
    expect([at(3, 0), at(3, 1)]).toEqual([200, 400]);
    expect(at(10, 1)).toBe(1000);
  });

  it('recognises AWS throttling errors by name', () => {
    expect(isThrottlingError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))).toBe(true);
    expect(isThrottlingError(new Error('x'))).toBe(false);
  });
});
