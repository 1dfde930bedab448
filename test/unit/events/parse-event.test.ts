import { describe, expect, it } from 'vitest';
import { parseEventBridgeEnvelope } from '../../../src/events/parse-event.ts';

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
