import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateModelCommand,
  CreateTrainingJobCommand,
  DescribeEndpointCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeModelCommand,
  DescribeTrainingJobCommand,
  ListTrainingJobsCommand,
  SageMakerClient,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { clientConfig, KNN_IMAGE, ROLE, startTestAws, waitFor, type TestAws } from './helpers.ts';

let t: TestAws;
const base = (name: string): CreateTrainingJobCommandInput => ({
  TrainingJobName: name,
  AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
  RoleArn: ROLE,
  OutputDataConfig: { S3OutputPath: 's3://bucket/out/' },
  ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 5 },
  StoppingCondition: { MaxRuntimeInSeconds: 60 },
});

beforeAll(async () => {
  t = await startTestAws({ faults: { simulateJobs: ['/^sim-/'], stageDelayMs: 20 } });
});
afterAll(() => t.close());

describe('SageMaker API validation and errors (AWS JSON 1.1)', () => {
  it('rejects a bad name with the AWS message', async () => {
    const err = await t.sm.send(new CreateTrainingJobCommand(base('bad_name'))).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    expect((err as Error).message).toBe(
      "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    );
    const long = await t.sm.send(new CreateTrainingJobCommand(base('a'.repeat(64)))).catch((e: Error) => e);
    expect((long as Error).message).toContain('Member must have length less than or equal to 63');
  });

  it('rejects missing required fields', async () => {
    const input = base('missing-fields');
    delete input.RoleArn;
    delete input.StoppingCondition;
    const err = (await t.sm.send(new CreateTrainingJobCommand(input)).catch((e: Error) => e)) as Error;
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe(
      "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value null at 'stoppingCondition' failed to satisfy constraint: Member must not be null",
    );
  });

  it('duplicate names: ResourceInUse with the AWS wording', async () => {
    await t.sm.send(new CreateTrainingJobCommand(base('sim-dup')));
    const err = (await t.sm.send(new CreateTrainingJobCommand(base('sim-dup'))).catch((e: Error) => e)) as Error;
    expect(err.name).toBe('ResourceInUse');
    expect(err.message).toBe(
      'Training job names must be unique within an AWS account and region, and a training job with this name already exists (arn:aws:sagemaker:us-east-1:000000000000:training-job/sim-dup)',
    );
    await t.sm.send(new CreateModelCommand({ ModelName: 'm1', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: KNN_IMAGE } }));
    await expect(t.sm.send(new CreateModelCommand({ ModelName: 'm1', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: KNN_IMAGE } }))).rejects.toThrow(
      'Cannot create already existing model "arn:aws:sagemaker:us-east-1:000000000000:model/m1".',
    );
  });

  it('not found: what SageMaker really answers per API', async () => {
    // DescribeTrainingJob answers ValidationException "Requested resource not found." (not ResourceNotFound), like AWS.
    await expect(t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'ghost' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Requested resource not found.',
    });
    await expect(t.sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'ghost' }))).rejects.toMatchObject({
      name: 'ResourceNotFound',
    });
    await expect(t.sm.send(new DescribeModelCommand({ ModelName: 'ghost' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/ghost".',
    });
    await expect(t.sm.send(new DescribeEndpointCommand({ EndpointName: 'ghost' }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('simulated jobs walk the statuses on timers (no process)', async () => {
    await t.sm.send(new CreateTrainingJobCommand(base('sim-walk')));
    const d = await waitFor(async () => {
      const x = await t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'sim-walk' }));
      return x.TrainingJobStatus === 'Completed' ? x : undefined;
    });
    expect(d.SecondaryStatusTransitions?.map((s) => s.Status)).toEqual(['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(d.CreationTime).toBeInstanceOf(Date);
  });

  it('fault knobs: failJobs forces Failed; jobDurationMs stretches the job over its statuses', async () => {
    t.aws.setFaults({ failJobs: ['/^sim-doomed/'], jobDurationMs: 600 });
    await t.sm.send(new CreateTrainingJobCommand(base('sim-doomed-1')));
    await t.sm.send(new CreateTrainingJobCommand(base('sim-slow')));
    const doomed = await waitFor(async () => {
      const x = await t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'sim-doomed-1' }));
      return x.TrainingJobStatus === 'Failed' ? x : undefined;
    });
    expect(doomed.FailureReason).toMatch(/^AlgorithmError: .*fault injection/);
    const slow = await waitFor(async () => {
      const x = await t.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'sim-slow' }));
      return x.TrainingJobStatus === 'Completed' ? x : undefined;
    });
    expect(slow.TrainingEndTime!.getTime() - slow.CreationTime!.getTime()).toBeGreaterThanOrEqual(590);
    t.aws.setFaults({ failJobs: [], jobDurationMs: null });
  });

  it('List: NameContains, StatusEquals, time filters, sort and NextToken pagination', async () => {
    const t0 = new Date();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 25; i++) await t.sm.send(new CreateTrainingJobCommand(base(`sim-page-${String(i).padStart(2, '0')}`)));
    const names: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const r = await t.sm.send(new ListTrainingJobsCommand({ NameContains: 'page', MaxResults: 10, NextToken, SortBy: 'Name', SortOrder: 'Ascending' }));
      names.push(...r.TrainingJobSummaries!.map((s) => s.TrainingJobName!));
      NextToken = r.NextToken;
      pages++;
    } while (NextToken);
    expect(pages).toBe(3);
    expect(names).toEqual(Array.from({ length: 25 }, (_, i) => `sim-page-${String(i).padStart(2, '0')}`));
    const after = await t.sm.send(new ListTrainingJobsCommand({ CreationTimeAfter: t0, MaxResults: 100 }));
    expect(after.TrainingJobSummaries).toHaveLength(25);
    const desc = await t.sm.send(new ListTrainingJobsCommand({ NameContains: 'page', SortBy: 'Name', SortOrder: 'Descending', MaxResults: 1 }));
    expect(desc.TrainingJobSummaries![0].TrainingJobName).toBe('sim-page-24');
    await waitFor(async () => {
      const r = await t.sm.send(new ListTrainingJobsCommand({ NameContains: 'page', StatusEquals: 'Completed', MaxResults: 100 }));
      return r.TrainingJobSummaries!.length === 25;
    });
    // the reconciler's sweep: jobs modified after a point in time
    const mid = new Date();
    await t.sm.send(new CreateTrainingJobCommand(base('sim-late')));
    const swept = await t.sm.send(new ListTrainingJobsCommand({ LastModifiedTimeAfter: mid, MaxResults: 100 }));
    expect(swept.TrainingJobSummaries!.map((s) => s.TrainingJobName)).toEqual(['sim-late']);
    await expect(t.sm.send(new ListTrainingJobsCommand({ MaxResults: 101 }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('throttling knob answers ThrottlingException, which the SDK retries', async () => {
    t.aws.setFaults({ throttleRate: 0.5, seed: 7 });
    const attempts: number[] = [];
    const kinds = new Set<string>();
    // The SDK's standard strategy, minus its multi-second throttling backoff (keeps the suite fast).
    interface Token {
      n: number;
      getRetryCount(): number;
      getRetryDelay(): number;
    }
    const token = (n: number): Token => ({ n, getRetryCount: () => n, getRetryDelay: () => 5 });
    const retryStrategy = {
      mode: 'standard',
      acquireInitialRetryToken: async () => token(0),
      refreshRetryTokenForRetry: async (tk: Token, info: { errorType: string }) => {
        kinds.add(info.errorType);
        if (tk.n >= 9 || info.errorType !== 'THROTTLING') throw new Error('no retry');
        return token(tk.n + 1);
      },
      recordSuccess: () => {},
    };
    const client = new SageMakerClient({ ...clientConfig(t.aws), retryStrategy });
    for (let i = 0; i < 10; i++) {
      const r = await client.send(new ListTrainingJobsCommand({ MaxResults: 1 }));
      attempts.push(r.$metadata.attempts ?? 1);
    }
    expect(Math.max(...attempts)).toBeGreaterThan(1);
    expect([...kinds]).toEqual(['THROTTLING']); // the SDK classifies our error as throttling
    t.aws.setFaults({ throttleRate: 1 });
    const noRetry = new SageMakerClient({ ...clientConfig(t.aws), maxAttempts: 1 });
    await expect(noRetry.send(new ListTrainingJobsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    t.aws.setFaults({ throttleRate: 0 });
    client.destroy();
    noRetry.destroy();
  }, 30_000);
});
