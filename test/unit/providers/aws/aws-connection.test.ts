import { describe, expect, it } from 'vitest';
import { parseConnectionUri } from '../../../../src/connections/connection-uri.ts';
import { awsSettingsFromConnection } from '../../../../src/providers/aws/aws-connection.ts';
import { isThrottling, isTransient, awsErrorCode } from '../../../../src/providers/aws/aws-errors.ts';
import { requiredIamPermissions, sageMakerEventPattern } from '../../../../src/providers/aws/setup-events.ts';
import { ownershipTags, taskInstanceTagValue, withOwnershipTags } from '../../../../src/providers/aws/sagemaker/ownership.ts';

describe('AWS connection settings (Airflow AwsConnectionWrapper)', () => {
  it('reads keys, session token, role, region and endpoints', () => {
    const s = awsSettingsFromConnection({
      conn_id: 'c',
      ...parseConnectionUri(
        'aws://AKIA:secret%2Fkey@/?region_name=eu-central-1&role_arn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&aws_session_token=tok&endpoint_url=http%3A%2F%2F127.0.0.1%3A4566',
      ),
    });
    expect(s).toMatchObject({
      accessKeyId: 'AKIA',
      secretAccessKey: 'secret/key',
      sessionToken: 'tok',
      roleArn: 'arn:aws:iam::1:role/r',
      regionName: 'eu-central-1',
      endpointUrl: 'http://127.0.0.1:4566',
    });
  });

  it('falls back to keys in extra and reads per-service endpoints', () => {
    const s = awsSettingsFromConnection({
      conn_id: 'c',
      conn_type: 'aws',
      description: null,
      host: null,
      schema: null,
      login: null,
      password: null,
      port: null,
      extra: JSON.stringify({ aws_access_key_id: 'A', aws_secret_access_key: 'S', service_config: { s3: { endpoint_url: 'http://s3.local' } } }),
    });
    expect(s).toMatchObject({ accessKeyId: 'A', secretAccessKey: 'S', endpointUrl: null, serviceEndpoints: { s3: 'http://s3.local' } });
  });
});

describe('AWS error classification', () => {
  it('treats throttling and 5xx as transient, validation as not', () => {
    expect(isThrottling({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).toBe(true);
    expect(isThrottling({ name: 'X', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isTransient({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } })).toBe(true);
    expect(isTransient({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).toBe(false);
    expect(awsErrorCode(new Error('plain'))).toBeUndefined();
  });
});

describe('setup-events and ownership', () => {
  it('matches the five SageMaker state-change detail types', () => {
    const p = sageMakerEventPattern();
    expect(p.source).toEqual(['aws.sagemaker']);
    expect(p['detail-type']).toEqual([
      'SageMaker Training Job State Change',
      'SageMaker Transform Job State Change',
      'SageMaker Processing Job State Change',
      'SageMaker HyperParameter Tuning Job State Change',
      'SageMaker Endpoint State Change',
    ]);
    const actions = requiredIamPermissions().map((p) => p.action);
    expect(actions).toEqual(
      expect.arrayContaining(['sagemaker:CreateTrainingJob', 'sagemaker:ListTags', 'iam:PassRole', 'sqs:ReceiveMessage', 'events:PutRule']),
    );
  });

  it('tags identify the task instance, not the try, and replace stale copies', () => {
    const ti = { dag_id: 'd', run_id: 'manual__2024', task_id: 't', try_number: 1 };
    expect(taskInstanceTagValue(ti)).toBe(taskInstanceTagValue({ ...ti, try_number: 2 }));
    expect(taskInstanceTagValue(ti)).not.toBe(taskInstanceTagValue({ ...ti, task_id: 'u' }));
    expect(taskInstanceTagValue(ti)).toMatch(/^[0-9a-f]{40}$/);
    const cfg: Record<string, unknown> = { Tags: [{ Key: 'team', Value: 'ml' }, ...ownershipTags({ ...ti, run_id: 'old' })] };
    withOwnershipTags(cfg, { ...ti, try_number: 3 });
    expect(cfg.Tags).toEqual([{ Key: 'team', Value: 'ml' }, ...ownershipTags({ ...ti, try_number: 3 })]);
  });
});
