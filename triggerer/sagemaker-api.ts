/**
 * The few SageMaker calls the triggerer makes, per resource type: Describe one job (start-up
 * check) and List jobs modified since a time, one page at a time (reconcile sweep).
 */
import {
  DescribeEndpointCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  ListEndpointsCommand,
  ListHyperParameterTuningJobsCommand,
  ListProcessingJobsCommand,
  ListTrainingJobsCommand,
  ListTransformJobsCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { SageMakerJobType } from '../src/events/sagemaker-job-types.ts';

export interface JobStatus {
  name: string;
  status: string;
  failureReason: string | null;
}

export interface JobPage {
  jobs: JobStatus[];
  nextToken?: string;
}

export const DESCRIBE_OPERATION: Record<SageMakerJobType, string> = {
  training: 'DescribeTrainingJob',
  transform: 'DescribeTransformJob',
  processing: 'DescribeProcessingJob',
  tuning: 'DescribeHyperParameterTuningJob',
  endpoint: 'DescribeEndpoint',
};

export const LIST_OPERATION: Record<SageMakerJobType, string> = {
  training: 'ListTrainingJobs',
  transform: 'ListTransformJobs',
  processing: 'ListProcessingJobs',
  tuning: 'ListHyperParameterTuningJobs',
  endpoint: 'ListEndpoints',
};

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const reason = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

export async function describeJob(client: SageMakerClient, type: SageMakerJobType, name: string, signal?: AbortSignal): Promise<JobStatus> {
  const o = { abortSignal: signal };
  switch (type) {
    case 'training': {
      const r = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }), o);
      return { name, status: str(r.TrainingJobStatus), failureReason: reason(r.FailureReason) };
    }
    case 'transform': {
      const r = await client.send(new DescribeTransformJobCommand({ TransformJobName: name }), o);
      return { name, status: str(r.TransformJobStatus), failureReason: reason(r.FailureReason) };
    }
    case 'processing': {
      const r = await client.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }), o);
      return { name, status: str(r.ProcessingJobStatus), failureReason: reason(r.FailureReason) ?? reason(r.ExitMessage) };
    }
    case 'tuning': {
      const r = await client.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }), o);
      return { name, status: str(r.HyperParameterTuningJobStatus), failureReason: reason(r.FailureReason) };
    }
    case 'endpoint': {
      const r = await client.send(new DescribeEndpointCommand({ EndpointName: name }), o);
      return { name, status: str(r.EndpointStatus), failureReason: reason(r.FailureReason) };
    }
  }
}

export async function listJobsPage(
  client: SageMakerClient,
  type: SageMakerJobType,
  since: Date,
  nextToken: string | undefined,
  signal?: AbortSignal,
): Promise<JobPage> {
  const o = { abortSignal: signal };
  const base = { LastModifiedTimeAfter: since, NextToken: nextToken, MaxResults: 100 };
  switch (type) {
    case 'training': {
      const r = await client.send(new ListTrainingJobsCommand(base), o);
      return {
        jobs: (r.TrainingJobSummaries ?? []).map((j) => ({ name: str(j.TrainingJobName), status: str(j.TrainingJobStatus), failureReason: null })),
        nextToken: r.NextToken,
      };
    }
    case 'transform': {
      const r = await client.send(new ListTransformJobsCommand(base), o);
      return {
        jobs: (r.TransformJobSummaries ?? []).map((j) => ({
          name: str(j.TransformJobName),
          status: str(j.TransformJobStatus),
          failureReason: reason(j.FailureReason),
        })),
        nextToken: r.NextToken,
      };
    }
    case 'processing': {
      const r = await client.send(new ListProcessingJobsCommand(base), o);
      return {
        jobs: (r.ProcessingJobSummaries ?? []).map((j) => ({
          name: str(j.ProcessingJobName),
          status: str(j.ProcessingJobStatus),
          failureReason: reason(j.FailureReason) ?? reason(j.ExitMessage),
        })),
        nextToken: r.NextToken,
      };
    }
    case 'tuning': {
      const r = await client.send(new ListHyperParameterTuningJobsCommand(base), o);
      return {
        jobs: (r.HyperParameterTuningJobSummaries ?? []).map((j) => ({
          name: str(j.HyperParameterTuningJobName),
          status: str(j.HyperParameterTuningJobStatus),
          failureReason: null,
        })),
        nextToken: r.NextToken,
      };
    }
    case 'endpoint': {
      const r = await client.send(new ListEndpointsCommand(base), o);
      return {
        jobs: (r.Endpoints ?? []).map((j) => ({ name: str(j.EndpointName), status: str(j.EndpointStatus), failureReason: null })),
        nextToken: r.NextToken,
      };
    }
  }
}

/** SageMaker says the resource does not exist (ValidationException "… not found" / ResourceNotFound). */
export function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  const msg = String((e as { message?: string } | null)?.message ?? '');
  return (
    name === 'ResourceNotFound' ||
    name === 'ResourceNotFoundException' ||
    (name === 'ValidationException' && /not (be )?found|does not exist|could not find/i.test(msg))
  );
}
