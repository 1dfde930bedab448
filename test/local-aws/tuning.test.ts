import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateHyperParameterTuningJobCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeTrainingJobCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
} from '@aws-sdk/client-sagemaker';
import { irisSplit, KNN_IMAGE, ROLE, startTestAws, toCsv, waitFor, type TestAws } from './helpers.ts';

let t: TestAws;
beforeAll(async () => {
  t = await startTestAws();
  const { train, test } = irisSplit();
  await t.s3.send(new CreateBucketCommand({ Bucket: 'hpo' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'hpo', Key: 'train/train.csv', Body: toCsv(train) }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'hpo', Key: 'test/test.csv', Body: toCsv(test) }));
});
afterAll(() => t.close());

describe('HyperParameterTuningJob over built-in KNN', () => {
  it('runs N real training jobs over the ranges and picks BestTrainingJob by test:accuracy', async () => {
    await t.sm.send(
      new CreateHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: 'iris-hpo',
        HyperParameterTuningJobConfig: {
          Strategy: 'Random',
          HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: 'test:accuracy' },
          ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 2 },
          ParameterRanges: {
            IntegerParameterRanges: [{ Name: 'k', MinValue: '1', MaxValue: '15', ScalingType: 'Linear' }],
            CategoricalParameterRanges: [{ Name: 'index_metric', Values: ['L2', 'COSINE'] }],
          },
        },
        TrainingJobDefinition: {
          StaticHyperParameters: { feature_dim: '4', predictor_type: 'classifier', sample_size: '1000' },
          AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
          RoleArn: ROLE,
          InputDataConfig: [
            { ChannelName: 'train', ContentType: 'text/csv', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://hpo/train/' } } },
            { ChannelName: 'test', ContentType: 'text/csv', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://hpo/test/' } } },
          ],
          OutputDataConfig: { S3OutputPath: 's3://hpo/out/' },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 5 },
          StoppingCondition: { MaxRuntimeInSeconds: 600 },
        },
      }),
    );
    const d = await waitFor(async () => {
      const x = await t.sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'iris-hpo' }));
      return x.HyperParameterTuningJobStatus !== 'InProgress' ? x : undefined;
    }, 45_000);
    expect(d.HyperParameterTuningJobStatus).toBe('Completed');
    expect(d.TrainingJobStatusCounters).toEqual({ Completed: 3, InProgress: 0, RetryableError: 0, NonRetryableError: 0, Stopped: 0 });
    expect(d.ObjectiveStatusCounters).toEqual({ Succeeded: 3, Pending: 0, Failed: 0 });
    expect(d.BestTrainingJob?.TrainingJobName).toMatch(/^iris-hpo-00[1-3]-[0-9a-f]{8}$/);
    expect(d.BestTrainingJob?.FinalHyperParameterTuningJobObjectiveMetric?.MetricName).toBe('test:accuracy');
    expect(d.BestTrainingJob?.FinalHyperParameterTuningJobObjectiveMetric?.Value).toBeGreaterThanOrEqual(0.9);
    const jobs = await t.sm.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: 'iris-hpo',
        SortBy: 'FinalObjectiveMetricValue',
        SortOrder: 'Descending',
      }),
    );
    expect(jobs.TrainingJobSummaries).toHaveLength(3);
    expect(jobs.TrainingJobSummaries![0].FinalHyperParameterTuningJobObjectiveMetric?.Value).toBe(
      d.BestTrainingJob?.FinalHyperParameterTuningJobObjectiveMetric?.Value,
    );
    for (const s of jobs.TrainingJobSummaries!) {
      expect(Number(s.TunedHyperParameters!.k)).toBeGreaterThanOrEqual(1);
      expect(['L2', 'COSINE']).toContain(s.TunedHyperParameters!.index_metric);
      const tj = await t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: s.TrainingJobName }));
      expect(tj.TuningJobArn).toBe(d.HyperParameterTuningJobArn);
    }
  }, 60_000);

  it('validates the request like SageMaker', async () => {
    await expect(
      t.sm.send(
        new CreateHyperParameterTuningJobCommand({
          HyperParameterTuningJobName: 'a-name-that-is-way-too-long-for-tuning',
          HyperParameterTuningJobConfig: {
            Strategy: 'Random',
            ResourceLimits: { MaxParallelTrainingJobs: 1, MaxNumberOfTrainingJobs: 1 },
            HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: 'm' },
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Member must have length less than or equal to 32') });
  });
});
