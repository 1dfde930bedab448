import { describe, expect, it } from 'vitest';
import { compileEventPattern, InvalidEventPatternError, matchesEventPattern, validateEventPattern } from '../../../src/events/event-pattern.ts';

const event = {
  version: '0',
  id: 'abc',
  'detail-type': 'SageMaker Training Job State Change',
  source: 'aws.sagemaker',
  account: '123456789012',
  time: '2024-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1', 'arn:other'],
  detail: {
    TrainingJobName: 'job-1',
    TrainingJobStatus: 'Completed',
    SecondaryStatus: 'Completed',
    BillableTimeInSeconds: 300,
    Ratio: 0.75,
    Flag: true,
    Nothing: null,
    Empty: '',
    ip: '10.0.0.42',
    ModelArtifacts: { S3ModelArtifacts: 's3://bucket/out/job-1/output/model.tar.gz' },
    Tags: {},
    Metrics: [
      { MetricName: 'test:accuracy', Value: 0.96 },
      { MetricName: 'train:loss', Value: 0.1 },
    ],
    Numbers: [1, 5, 10],
  },
};

const m = (p: unknown, e: unknown = event) => matchesEventPattern(p, e);

describe('matchesEventPattern', () => {
  it('exact values, strings vs numbers, booleans, null, empty string', () => {
    expect(m({ source: ['aws.sagemaker'] })).toBe(true);
    expect(m({ source: ['aws.s3', 'aws.sagemaker'] })).toBe(true);
    expect(m({ source: ['aws.s3'] })).toBe(false);
    expect(m({ detail: { BillableTimeInSeconds: [300] } })).toBe(true);
    expect(m({ detail: { BillableTimeInSeconds: [300.0] } })).toBe(true);
    expect(m({ detail: { BillableTimeInSeconds: ['300'] } })).toBe(false);
    expect(m({ detail: { Flag: [true] } })).toBe(true);
    expect(m({ detail: { Flag: ['true'] } })).toBe(false);
    expect(m({ detail: { Nothing: [null] } })).toBe(true);
    expect(m({ detail: { Empty: [''] } })).toBe(true);
    expect(m({ detail: { Missing: [null] } })).toBe(false);
  });

  it('all fields must match (AND), values within a field are OR', () => {
    expect(m({ source: ['aws.sagemaker'], detail: { TrainingJobStatus: ['Failed', 'Completed'] } })).toBe(true);
    expect(m({ source: ['aws.sagemaker'], detail: { TrainingJobStatus: ['Failed'] } })).toBe(false);
  });

  it('prefix, suffix, equals-ignore-case (and their ignore-case forms)', () => {
    expect(m({ 'detail-type': [{ prefix: 'SageMaker Training' }] })).toBe(true);
    expect(m({ 'detail-type': [{ prefix: 'sagemaker' }] })).toBe(false);
    expect(m({ 'detail-type': [{ prefix: { 'equals-ignore-case': 'sagemaker training' } }] })).toBe(true);
    expect(m({ detail: { ModelArtifacts: { S3ModelArtifacts: [{ suffix: '.tar.gz' }] } } })).toBe(true);
    expect(m({ detail: { ModelArtifacts: { S3ModelArtifacts: [{ suffix: { 'equals-ignore-case': 'MODEL.TAR.GZ' } }] } } })).toBe(true);
    expect(m({ detail: { TrainingJobStatus: [{ 'equals-ignore-case': 'COMPLETED' }] } })).toBe(true);
    expect(m({ detail: { BillableTimeInSeconds: [{ prefix: '3' }] } })).toBe(false);
  });

  it('anything-but: value, list, prefix, suffix, equals-ignore-case, and never matches a missing field', () => {
    expect(m({ detail: { TrainingJobStatus: [{ 'anything-but': 'InProgress' }] } })).toBe(true);
    expect(m({ detail: { TrainingJobStatus: [{ 'anything-but': ['InProgress', 'Completed'] }] } })).toBe(false);
    expect(m({ detail: { BillableTimeInSeconds: [{ 'anything-but': [100, 200] }] } })).toBe(true);
    expect(m({ detail: { BillableTimeInSeconds: [{ 'anything-but': 300 }] } })).toBe(false);
    expect(m({ detail: { TrainingJobName: [{ 'anything-but': { prefix: 'job-' } }] } })).toBe(false);
    expect(m({ detail: { TrainingJobName: [{ 'anything-but': { prefix: 'tmp-' } }] } })).toBe(true);
    expect(m({ detail: { TrainingJobName: [{ 'anything-but': { suffix: '-1' } }] } })).toBe(false);
    expect(m({ detail: { TrainingJobStatus: [{ 'anything-but': { 'equals-ignore-case': ['completed'] } }] } })).toBe(false);
    expect(m({ detail: { Missing: [{ 'anything-but': 'x' }] } })).toBe(false);
  });

  it('exists true/false, only on leaves', () => {
    expect(m({ detail: { FailureReason: [{ exists: false }] } })).toBe(true);
    expect(m({ detail: { FailureReason: [{ exists: true }] } })).toBe(false);
    expect(m({ detail: { TrainingJobName: [{ exists: true }] } })).toBe(true);
    expect(m({ detail: { Nothing: [{ exists: true }] } })).toBe(true);
    expect(m({ detail: { ModelArtifacts: [{ exists: true }] } })).toBe(false);
    expect(m({ nothere: { deeper: [{ exists: false }] } })).toBe(true);
  });

  it('numeric ranges', () => {
    expect(m({ detail: { BillableTimeInSeconds: [{ numeric: ['>', 0, '<=', 300] }] } })).toBe(true);
    expect(m({ detail: { BillableTimeInSeconds: [{ numeric: ['<', 300] }] } })).toBe(false);
    expect(m({ detail: { BillableTimeInSeconds: [{ numeric: ['=', 300] }] } })).toBe(true);
    expect(m({ detail: { Ratio: [{ numeric: ['>=', 0.75, '<', 1] }] } })).toBe(true);
    expect(m({ detail: { TrainingJobName: [{ numeric: ['>', 0] }] } })).toBe(false);
  });

  it('arrays in events match if any element matches; arrays of objects are flattened', () => {
    expect(m({ resources: ['arn:other'] })).toBe(true);
    expect(m({ resources: [{ prefix: 'arn:aws:sagemaker' }] })).toBe(true);
    expect(m({ detail: { Numbers: [{ numeric: ['>', 9] }] } })).toBe(true);
    expect(m({ detail: { Metrics: { MetricName: ['test:accuracy'] } } })).toBe(true);
    expect(m({ detail: { Metrics: { Value: [{ numeric: ['>', 0.9] }] } } })).toBe(true);
    expect(m({ detail: { Metrics: { MetricName: ['nope'] } } })).toBe(false);
  });

  it('$or, nested objects, wildcard and cidr', () => {
    expect(m({ $or: [{ source: ['aws.s3'] }, { detail: { TrainingJobStatus: ['Completed'] } }] })).toBe(true);
    expect(m({ source: ['aws.sagemaker'], $or: [{ detail: { TrainingJobStatus: ['Failed'] } }, { detail: { Flag: [false] } }] })).toBe(false);
    expect(m({ detail: { $or: [{ TrainingJobStatus: ['Failed'] }, { SecondaryStatus: ['Completed'] }] } })).toBe(true);
    expect(m({ detail: { TrainingJobName: [{ wildcard: 'job-*' }] } })).toBe(true);
    expect(m({ detail: { TrainingJobName: [{ wildcard: 'j*-2' }] } })).toBe(false);
    expect(m({ detail: { ip: [{ cidr: '10.0.0.0/24' }] } })).toBe(true);
    expect(m({ detail: { ip: [{ cidr: '10.0.1.0/24' }] } })).toBe(false);
    expect(m({ ip6: [{ cidr: '2001:db8::/32' }] }, { ip6: '2001:db8::1' })).toBe(true);
  });

  it('object in the pattern vs scalar in the event, and leaf matcher vs object', () => {
    expect(m({ source: { nested: ['x'] } })).toBe(false);
    expect(m({ detail: ['x'] })).toBe(false);
  });

  it('accepts JSON strings and caches compiled patterns', () => {
    const p = JSON.stringify({ source: ['aws.sagemaker'] });
    expect(m(p)).toBe(true);
    expect(m(p, { source: 'x' })).toBe(false);
  });

  it('is fast: 100k matches of a compiled pattern in well under a second', () => {
    const match = compileEventPattern({
      source: ['aws.sagemaker'],
      'detail-type': [{ suffix: 'State Change' }],
      detail: { TrainingJobStatus: ['Completed', 'Failed', 'Stopped'], TrainingJobName: [{ prefix: 'job-' }] },
    });
    const t0 = performance.now();
    let n = 0;
    for (let i = 0; i < 100_000; i++) if (match(event)) n++;
    expect(n).toBe(100_000);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('validateEventPattern', () => {
  const bad: Array<[unknown, RegExp]> = [
    ['{not json', /not valid JSON/],
    [[], /not an object/],
    [{}, /Empty objects/],
    [{ source: 'aws.sagemaker' }, /must be an array or an object/],
    [{ source: [] }, /Empty arrays/],
    [{ source: [['nested']] }, /nested arrays/],
    [{ source: [{ foo: 'x' }] }, /Unrecognized match type/],
    [{ source: [{ prefix: 1 }] }, /prefix match pattern must be a string/],
    [{ n: [{ numeric: ['>', 'x'] }] }, /must be a number/],
    [{ n: [{ numeric: ['~', 1] }] }, /Unrecognized numeric range operator/],
    [{ n: [{ numeric: ['>', 1, '>', 2] }] }, /two lower bounds/],
    [{ n: [{ exists: 'yes' }] }, /exists match pattern must be either true or false/],
    [{ n: [{ 'anything-but': [] }] }, /empty arrays are not allowed/],
    [{ n: [{ 'anything-but': ['a', 1] }] }, /all strings or all numbers/],
    [{ n: [{ wildcard: 'a**b' }] }, /Consecutive wildcard/],
    [{ n: [{ cidr: 'nonsense' }] }, /Malformed CIDR/],
    [{ $or: [{ a: ['x'] }] }, /at least two/],
  ];
  it.each(bad)('rejects %j', (pattern, reason) => {
    const r = validateEventPattern(pattern);
    expect(r.valid).toBe(false);
    if (!r.valid) expect(r.reason).toMatch(reason);
    expect(() => compileEventPattern(pattern)).toThrow(InvalidEventPatternError);
  });

  it('accepts the documented forms', () => {
    expect(
      validateEventPattern({
        source: ['aws.sagemaker'],
        'detail-type': [{ prefix: 'SageMaker' }, { suffix: 'Change' }],
        detail: {
          TrainingJobStatus: [{ 'anything-but': ['InProgress'] }],
          x: [{ numeric: ['>', 0, '<=', 5] }, { exists: true }, null, 1, true, { 'equals-ignore-case': 'a' }, { cidr: '10.0.0.0/8' }, { wildcard: 'a*' }],
          $or: [{ a: ['1'] }, { b: ['2'] }],
        },
      }),
    ).toEqual({ valid: true });
  });
});
