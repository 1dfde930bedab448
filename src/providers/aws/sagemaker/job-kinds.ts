/**
 * The four SageMaker job kinds an operator submits and waits on, as data: the SDK calls, the
 * name/status fields, where CloudWatch keeps their logs and how long their names may be. Lets one
 * operator base class (sagemaker-job-operator.ts) serve Training, Processing, Transform and Tuning.
 */
import {
  CreateHyperParameterTuningJobCommand,
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  CreateTransformJobCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  ListHyperParameterTuningJobsCommand,
  ListProcessingJobsCommand,
  ListTrainingJobsCommand,
  ListTransformJobsCommand,
  type CreateHyperParameterTuningJobCommandInput,
  type CreateProcessingJobCommandInput,
  type CreateTrainingJobCommandInput,
  type CreateTransformJobCommandInput,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { SAGEMAKER_JOB_SPECS, type SageMakerJobType } from '../../../events/sagemaker-job-types.ts';

export type JobDescription = Record<string, unknown>;

export interface JobSummary {
  name: string;
  creationTime: Date | null;
}

export interface SageMakerJobKind {
  type: Exclude<SageMakerJobType, 'endpoint'>;
  /** Key of the operator's XCom result (Airflow's) and word used in messages. */
  label: 'Training' | 'Processing' | 'Transform' | 'Tuning';
  nameField: string;
  statusField: string;
  arnField: string;
  /** SageMaker's name length limit (63; 32 for tuning jobs). */
  maxNameLength: number;
  /** CloudWatch log group of the job's containers (null: none of its own). */
  logGroup: string | null;
  create(client: SageMakerClient, config: Record<string, unknown>, signal?: AbortSignal): Promise<void>;
  describe(client: SageMakerClient, name: string, signal?: AbortSignal): Promise<JobDescription>;
  /** One page of jobs whose name contains `fragment`, newest first. */
  list(client: SageMakerClient, fragment: string, nextToken: string | undefined, signal?: AbortSignal): Promise<{ jobs: JobSummary[]; nextToken?: string }>;
}

const sig = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : undefined);
const LIST_PAGE = 100;

/** The fields every kind takes from the event spec of its type. */
const specFields = <T extends SageMakerJobKind['type']>(type: T) => ({
  type,
  nameField: SAGEMAKER_JOB_SPECS[type].nameField,
  statusField: SAGEMAKER_JOB_SPECS[type].statusField,
});

/** The List* request all four kinds send: one page by name fragment, newest first. */
const listQuery = (fragment: string, token: string | undefined) =>
  ({ NameContains: fragment, NextToken: token, MaxResults: LIST_PAGE, SortBy: 'CreationTime', SortOrder: 'Descending' }) as const;

/** One List* response page as JobSummaries (each kind names its summary fields differently). */
function page<S>(summaries: S[] | undefined, name: (s: S) => string | undefined, created: (s: S) => Date | undefined, nextToken: string | undefined) {
  return { jobs: (summaries ?? []).map((s) => ({ name: name(s) ?? '', creationTime: created(s) ?? null })), nextToken };
}

export const TRAINING_JOB: SageMakerJobKind = {
  ...specFields('training'),
  label: 'Training',
  arnField: 'TrainingJobArn',
  maxNameLength: 63,
  logGroup: '/aws/sagemaker/TrainingJobs',
  create: async (c, cfg, s) => {
    await c.send(new CreateTrainingJobCommand(cfg as unknown as CreateTrainingJobCommandInput), sig(s));
  },
  describe: async (c, name, s) => (await c.send(new DescribeTrainingJobCommand({ TrainingJobName: name }), sig(s))) as unknown as JobDescription,
  list: async (c, fragment, token, s) => {
    const out = await c.send(new ListTrainingJobsCommand(listQuery(fragment, token)), sig(s));
    return page(
      out.TrainingJobSummaries,
      (j) => j.TrainingJobName,
      (j) => j.CreationTime,
      out.NextToken,
    );
  },
};

export const PROCESSING_JOB: SageMakerJobKind = {
  ...specFields('processing'),
  label: 'Processing',
  arnField: 'ProcessingJobArn',
  maxNameLength: 63,
  logGroup: '/aws/sagemaker/ProcessingJobs',
  create: async (c, cfg, s) => {
    await c.send(new CreateProcessingJobCommand(cfg as unknown as CreateProcessingJobCommandInput), sig(s));
  },
  describe: async (c, name, s) => (await c.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }), sig(s))) as unknown as JobDescription,
  list: async (c, fragment, token, s) => {
    const out = await c.send(new ListProcessingJobsCommand(listQuery(fragment, token)), sig(s));
    return page(
      out.ProcessingJobSummaries,
      (j) => j.ProcessingJobName,
      (j) => j.CreationTime,
      out.NextToken,
    );
  },
};

export const TRANSFORM_JOB: SageMakerJobKind = {
  ...specFields('transform'),
  label: 'Transform',
  arnField: 'TransformJobArn',
  maxNameLength: 63,
  logGroup: '/aws/sagemaker/TransformJobs',
  create: async (c, cfg, s) => {
    await c.send(new CreateTransformJobCommand(cfg as unknown as CreateTransformJobCommandInput), sig(s));
  },
  describe: async (c, name, s) => (await c.send(new DescribeTransformJobCommand({ TransformJobName: name }), sig(s))) as unknown as JobDescription,
  list: async (c, fragment, token, s) => {
    const out = await c.send(new ListTransformJobsCommand(listQuery(fragment, token)), sig(s));
    return page(
      out.TransformJobSummaries,
      (j) => j.TransformJobName,
      (j) => j.CreationTime,
      out.NextToken,
    );
  },
};

export const TUNING_JOB: SageMakerJobKind = {
  ...specFields('tuning'),
  label: 'Tuning',
  arnField: 'HyperParameterTuningJobArn',
  maxNameLength: 32,
  logGroup: null,
  create: async (c, cfg, s) => {
    await c.send(new CreateHyperParameterTuningJobCommand(cfg as unknown as CreateHyperParameterTuningJobCommandInput), sig(s));
  },
  describe: async (c, name, s) =>
    (await c.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }), sig(s))) as unknown as JobDescription,
  list: async (c, fragment, token, s) => {
    const out = await c.send(new ListHyperParameterTuningJobsCommand(listQuery(fragment, token)), sig(s));
    return page(
      out.HyperParameterTuningJobSummaries,
      (j) => j.HyperParameterTuningJobName,
      (j) => j.CreationTime,
      out.NextToken,
    );
  },
};

/** Statuses after which a job never changes again. */
export const TERMINAL_JOB_STATUSES = new Set(['Completed', 'Failed', 'Stopped']);
/** Terminal statuses that fail the task (Airflow fails on Failed; a Stopped job never produced its output either). */
export const FAILED_JOB_STATUSES = new Set(['Failed', 'Stopped']);

export function failureReason(desc: JobDescription): string {
  const r = desc.FailureReason ?? desc.ExitMessage;
  return typeof r === 'string' && r ? r : '(No reason provided)';
}
