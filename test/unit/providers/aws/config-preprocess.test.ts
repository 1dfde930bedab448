import { describe, expect, it } from 'vitest';
import { cloneConfig, parseIntegerFields, stringifyHyperParameters } from '../../../../src/providers/aws/sagemaker/config-preprocess.ts';
import { serializeDescribe } from '../../../../src/providers/aws/sagemaker/serialize.ts';

describe('config preprocessing (Airflow integer_fields)', () => {
  it('casts rendered strings to integers along paths, through lists, skipping absent keys', () => {
    const cfg: Record<string, unknown> = {
      ResourceConfig: { InstanceCount: '2', VolumeSizeInGB: 5 },
      Transform: { ProductionVariants: [{ InitialInstanceCount: '1' }, { InitialInstanceCount: ' 3 ' }] },
    };
    parseIntegerFields(cfg, [
      ['ResourceConfig', 'InstanceCount'],
      ['ResourceConfig', 'VolumeSizeInGB'],
      ['StoppingCondition', 'MaxRuntimeInSeconds'],
      ['Transform', 'ProductionVariants', 'InitialInstanceCount'],
    ]);
    expect(cfg).toEqual({
      ResourceConfig: { InstanceCount: 2, VolumeSizeInGB: 5 },
      Transform: { ProductionVariants: [{ InitialInstanceCount: 1 }, { InitialInstanceCount: 3 }] },
    });
  });

  it('names the field when a value is not an integer', () => {
    expect(() => parseIntegerFields({ ResourceConfig: { InstanceCount: 'two' } }, [['ResourceConfig', 'InstanceCount']])).toThrow(
      /config\.ResourceConfig\.InstanceCount must be an integer, got "two"/,
    );
  });

  it('stringifies hyper-parameters and leaves the original untouched when working on a clone', () => {
    const original = { HyperParameters: { k: 5, feature_dim: '4', flag: true, nested: { a: 1 } }, When: new Date(0) };
    const cfg = cloneConfig(original);
    stringifyHyperParameters(cfg, ['HyperParameters']);
    expect(cfg.HyperParameters).toEqual({ k: '5', feature_dim: '4', flag: 'true', nested: '{"a":1}' });
    expect(original.HyperParameters.k).toBe(5);
    expect(cfg.When).toEqual(new Date(0));
    expect(cfg.When).not.toBe(original.When);
  });
});

describe('serializeDescribe', () => {
  it('drops $metadata and undefined, turns Dates into ISO strings', () => {
    const out = serializeDescribe({
      $metadata: { httpStatusCode: 200 },
      TrainingJobName: 'j',
      CreationTime: new Date('2024-01-02T03:04:05.000Z'),
      ModelArtifacts: { S3ModelArtifacts: 's3://b/model.tar.gz' },
      SecondaryStatusTransitions: [{ StartTime: new Date(0), Status: 'Starting' }],
      Missing: undefined,
    });
    expect(out).toEqual({
      TrainingJobName: 'j',
      CreationTime: '2024-01-02T03:04:05.000Z',
      ModelArtifacts: { S3ModelArtifacts: 's3://b/model.tar.gz' },
      SecondaryStatusTransitions: [{ StartTime: '1970-01-01T00:00:00.000Z', Status: 'Starting' }],
    });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });
});
