/**
 * What deferflow knows about SageMaker's five waitable resources — ONE table, one row per type:
 * the names used in messages, the ARN resource segment (also the routing-key segment), the
 * EventBridge detail-type of their state changes, where name / status / ARN / failure reason sit,
 * which statuses are in progress, succeeded, failed or stopped, the Create / Describe / List calls,
 * the CloudWatch log group and the name-length limit.
 *
 * Every SageMaker consumer reads it: the job and endpoint operators (submit, Describe, final
 * status), the sensors (poke), the job-name resolver (List by name), the SageMaker job trigger
 * (event → outcome), the routing-key extractor (event → key) and the reconcile sweep (List since,
 * Describe). Before this table there were four that disagreed (a deferred endpoint that went
 * OutOfService waited until its timeout because the trigger's table knew only `Failed`).
 */
import type {
  CreateEndpointCommandInput,
  CreateHyperParameterTuningJobCommandInput,
  CreateProcessingJobCommandInput,
  CreateTrainingJobCommandInput,
  CreateTransformJobCommandInput,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { sageMakerSdk } from '../sdk.ts';

export const SAGEMAKER_RESOURCE_TYPES = ['training', 'transform', 'processing', 'tuning', 'endpoint'] as const;
export type SageMakerResourceType = (typeof SAGEMAKER_RESOURCE_TYPES)[number];
/** The job types (everything but the endpoint): what the job operators submit. */
export type SageMakerJobType = Exclude<SageMakerResourceType, 'endpoint'>;

/** Airflow's SageMakerTrigger outcome vocabulary (plus 'timeout', set by the triggerer). */
export type SageMakerOutcome = 'success' | 'failed' | 'stopped';

/** A Describe response, as plain data. */
export type Description = Record<string, unknown>;

export interface ResourceSummary {
  name: string;
  arn: string | null;
  status: string;
  /** A training job's SecondaryStatus (List and Describe carry it); null for the other types. */
  secondaryStatus: string | null;
  creationTime: Date | null;
  failureReason: string | null;
}

export interface ResourcePage {
  items: ResourceSummary[];
  nextToken?: string;
}

/** The List* request every type accepts. */
interface ListQuery {
  NameContains?: string;
  LastModifiedTimeAfter?: Date;
  NextToken?: string;
  MaxResults?: number;
  SortBy?: 'CreationTime';
  SortOrder?: 'Descending';
}

export interface SageMakerResource {
  type: SageMakerResourceType;
  /** The operator's XCom result key (Airflow's) and the word in its messages. */
  label: 'Training' | 'Processing' | 'Transform' | 'Tuning' | 'Endpoint';
  /** Lower-case noun for messages: "training job", "hyper-parameter tuning job", "endpoint". */
  noun: string;
  /** ARN resource segment (`arn:aws:sagemaker:<region>:<account>:<arnResource>/<name>`), also in routing keys. */
  arnResource: string;
  /** EventBridge detail-type of its state-change events. */
  detailType: string;
  nameField: string;
  statusField: string;
  arnField: string;
  /** Where Describe / List / events put a failure's reason, first found wins. */
  failureReasonFields: readonly string[];
  /** SageMaker's name length limit. */
  maxNameLength: number;
  /** CloudWatch log group of its containers (null: none of its own). */
  logGroup: string | null;
  /** Statuses that will still change. */
  inProgress: ReadonlySet<string>;
  /** Terminal statuses, by outcome: the task succeeds, fails, or fails as stopped. */
  succeeded: ReadonlySet<string>;
  failed: ReadonlySet<string>;
  stopped: ReadonlySet<string>;
  /** API operation names (metrics, IAM, messages). */
  operations: { create: string; describe: string; list: string };
  /** Create it; resolves with the ARN SageMaker answered (the trigger's origin check needs it, no Describe). */
  create(client: SageMakerClient, request: Record<string, unknown>, signal?: AbortSignal): Promise<{ arn: string | null }>;
  describe(client: SageMakerClient, name: string, signal?: AbortSignal): Promise<Description>;
  /** One page of resources whose name contains `fragment`, newest first (choosing a free job name). */
  listByName(client: SageMakerClient, fragment: string, nextToken: string | undefined, signal?: AbortSignal): Promise<ResourcePage>;
  /** One page of resources modified after `since` (the reconcile sweep). */
  listModifiedSince(client: SageMakerClient, since: Date, nextToken: string | undefined, signal?: AbortSignal): Promise<ResourcePage>;
}

const LIST_PAGE = 100;
const opts = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : undefined);

interface ResourceSpec extends Omit<SageMakerResource, 'create' | 'describe' | 'listByName' | 'listModifiedSince'> {
  /** Field of the List response holding the summaries. */
  summariesField: string;
  send: {
    create(client: SageMakerClient, request: Record<string, unknown>, signal?: AbortSignal): Promise<unknown>;
    describe(client: SageMakerClient, name: string, signal?: AbortSignal): Promise<unknown>;
    list(client: SageMakerClient, query: ListQuery, signal?: AbortSignal): Promise<unknown>;
  };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function defineResource(spec: ResourceSpec): SageMakerResource {
  const { send, summariesField, ...row } = spec;
  const summary = (s: Record<string, unknown>): ResourceSummary => ({
    name: str(s[row.nameField]),
    arn: typeof s[row.arnField] === 'string' ? (s[row.arnField] as string) : null,
    status: str(s[row.statusField]),
    secondaryStatus: typeof s.SecondaryStatus === 'string' ? s.SecondaryStatus : null,
    creationTime: s.CreationTime instanceof Date ? s.CreationTime : null,
    failureReason: reasonIn(row, s),
  });
  const page = async (client: SageMakerClient, query: ListQuery, signal?: AbortSignal): Promise<ResourcePage> => {
    const out = (await send.list(client, { ...query, MaxResults: LIST_PAGE }, signal)) as Record<string, unknown>;
    const items = Array.isArray(out[summariesField]) ? (out[summariesField] as Array<Record<string, unknown>>) : [];
    return { items: items.map(summary), nextToken: typeof out.NextToken === 'string' ? out.NextToken : undefined };
  };
  return {
    ...row,
    create: async (client, request, signal) => {
      const out = (await send.create(client, request, signal)) as Record<string, unknown> | undefined;
      const arn = out?.[row.arnField];
      return { arn: typeof arn === 'string' ? arn : null };
    },
    describe: async (client, name, signal) => (await send.describe(client, name, signal)) as Description,
    listByName: (client, fragment, nextToken, signal) =>
      page(client, { NameContains: fragment, NextToken: nextToken, SortBy: 'CreationTime', SortOrder: 'Descending' }, signal),
    listModifiedSince: (client, since, nextToken, signal) => page(client, { LastModifiedTimeAfter: since, NextToken: nextToken }, signal),
  };
}

const JOB_IN_PROGRESS = new Set(['InProgress', 'Stopping']);
const JOB_SUCCEEDED = new Set(['Completed']);
const JOB_FAILED = new Set(['Failed']);
const JOB_STOPPED = new Set(['Stopped']);
const JOB_STATUSES = { inProgress: JOB_IN_PROGRESS, succeeded: JOB_SUCCEEDED, failed: JOB_FAILED, stopped: JOB_STOPPED };

export const SAGEMAKER_RESOURCES: Readonly<Record<SageMakerResourceType, SageMakerResource>> = {
  training: defineResource({
    type: 'training',
    label: 'Training',
    noun: 'training job',
    arnResource: 'training-job',
    detailType: 'SageMaker Training Job State Change',
    nameField: 'TrainingJobName',
    statusField: 'TrainingJobStatus',
    arnField: 'TrainingJobArn',
    failureReasonFields: ['FailureReason'],
    maxNameLength: 63,
    logGroup: '/aws/sagemaker/TrainingJobs',
    ...JOB_STATUSES,
    operations: { create: 'CreateTrainingJob', describe: 'DescribeTrainingJob', list: 'ListTrainingJobs' },
    summariesField: 'TrainingJobSummaries',
    send: {
      create: (c, r, s) => c.send(new (sageMakerSdk().CreateTrainingJobCommand)(r as unknown as CreateTrainingJobCommandInput), opts(s)),
      describe: (c, name, s) => c.send(new (sageMakerSdk().DescribeTrainingJobCommand)({ TrainingJobName: name }), opts(s)),
      list: (c, q, s) => c.send(new (sageMakerSdk().ListTrainingJobsCommand)(q), opts(s)),
    },
  }),
  transform: defineResource({
    type: 'transform',
    label: 'Transform',
    noun: 'transform job',
    arnResource: 'transform-job',
    detailType: 'SageMaker Transform Job State Change',
    nameField: 'TransformJobName',
    statusField: 'TransformJobStatus',
    arnField: 'TransformJobArn',
    failureReasonFields: ['FailureReason'],
    maxNameLength: 63,
    logGroup: '/aws/sagemaker/TransformJobs',
    ...JOB_STATUSES,
    operations: { create: 'CreateTransformJob', describe: 'DescribeTransformJob', list: 'ListTransformJobs' },
    summariesField: 'TransformJobSummaries',
    send: {
      create: (c, r, s) => c.send(new (sageMakerSdk().CreateTransformJobCommand)(r as unknown as CreateTransformJobCommandInput), opts(s)),
      describe: (c, name, s) => c.send(new (sageMakerSdk().DescribeTransformJobCommand)({ TransformJobName: name }), opts(s)),
      list: (c, q, s) => c.send(new (sageMakerSdk().ListTransformJobsCommand)(q), opts(s)),
    },
  }),
  processing: defineResource({
    type: 'processing',
    label: 'Processing',
    noun: 'processing job',
    arnResource: 'processing-job',
    detailType: 'SageMaker Processing Job State Change',
    nameField: 'ProcessingJobName',
    statusField: 'ProcessingJobStatus',
    arnField: 'ProcessingJobArn',
    failureReasonFields: ['FailureReason', 'ExitMessage'],
    maxNameLength: 63,
    logGroup: '/aws/sagemaker/ProcessingJobs',
    ...JOB_STATUSES,
    operations: { create: 'CreateProcessingJob', describe: 'DescribeProcessingJob', list: 'ListProcessingJobs' },
    summariesField: 'ProcessingJobSummaries',
    send: {
      create: (c, r, s) => c.send(new (sageMakerSdk().CreateProcessingJobCommand)(r as unknown as CreateProcessingJobCommandInput), opts(s)),
      describe: (c, name, s) => c.send(new (sageMakerSdk().DescribeProcessingJobCommand)({ ProcessingJobName: name }), opts(s)),
      list: (c, q, s) => c.send(new (sageMakerSdk().ListProcessingJobsCommand)(q), opts(s)),
    },
  }),
  tuning: defineResource({
    type: 'tuning',
    label: 'Tuning',
    noun: 'hyper-parameter tuning job',
    arnResource: 'hyper-parameter-tuning-job',
    detailType: 'SageMaker HyperParameter Tuning Job State Change',
    nameField: 'HyperParameterTuningJobName',
    statusField: 'HyperParameterTuningJobStatus',
    arnField: 'HyperParameterTuningJobArn',
    failureReasonFields: ['FailureReason'],
    maxNameLength: 32,
    logGroup: null,
    ...JOB_STATUSES,
    operations: { create: 'CreateHyperParameterTuningJob', describe: 'DescribeHyperParameterTuningJob', list: 'ListHyperParameterTuningJobs' },
    summariesField: 'HyperParameterTuningJobSummaries',
    send: {
      create: (c, r, s) =>
        c.send(new (sageMakerSdk().CreateHyperParameterTuningJobCommand)(r as unknown as CreateHyperParameterTuningJobCommandInput), opts(s)),
      describe: (c, name, s) => c.send(new (sageMakerSdk().DescribeHyperParameterTuningJobCommand)({ HyperParameterTuningJobName: name }), opts(s)),
      list: (c, q, s) => c.send(new (sageMakerSdk().ListHyperParameterTuningJobsCommand)(q), opts(s)),
    },
  }),
  endpoint: defineResource({
    type: 'endpoint',
    label: 'Endpoint',
    noun: 'endpoint',
    arnResource: 'endpoint',
    detailType: 'SageMaker Endpoint State Change',
    nameField: 'EndpointName',
    statusField: 'EndpointStatus',
    arnField: 'EndpointArn',
    failureReasonFields: ['FailureReason'],
    maxNameLength: 63,
    logGroup: null,
    // An endpoint never "completes": InService is what a deploy waits for, and an endpoint that
    // went OutOfService or whose update could not even roll back will not get there by waiting.
    inProgress: new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']),
    succeeded: new Set(['InService']),
    failed: new Set(['Failed', 'OutOfService', 'UpdateRollbackFailed']),
    stopped: new Set(),
    operations: { create: 'CreateEndpoint', describe: 'DescribeEndpoint', list: 'ListEndpoints' },
    summariesField: 'Endpoints',
    send: {
      create: (c, r, s) => c.send(new (sageMakerSdk().CreateEndpointCommand)(r as unknown as CreateEndpointCommandInput), opts(s)),
      describe: (c, name, s) => c.send(new (sageMakerSdk().DescribeEndpointCommand)({ EndpointName: name }), opts(s)),
      list: (c, q, s) => c.send(new (sageMakerSdk().ListEndpointsCommand)(q), opts(s)),
    },
  }),
};

/** The job rows, by the name the operators and sensors use. */
export const TRAINING_JOB = SAGEMAKER_RESOURCES.training;
export const TRANSFORM_JOB = SAGEMAKER_RESOURCES.transform;
export const PROCESSING_JOB = SAGEMAKER_RESOURCES.processing;
export const TUNING_JOB = SAGEMAKER_RESOURCES.tuning;
export const ENDPOINT = SAGEMAKER_RESOURCES.endpoint;

const BY_DETAIL_TYPE = new Map<string, SageMakerResource>(Object.values(SAGEMAKER_RESOURCES).map((r) => [r.detailType, r]));

export function resourceForDetailType(detailType: string): SageMakerResource | undefined {
  return BY_DETAIL_TYPE.get(detailType);
}

/**
 * Describe spells statuses `InService`; EventBridge's endpoint events spell the same states
 * `IN_SERVICE` (AWS's documented event shape). Normalise to Describe's spelling.
 */
export function normalizeStatus(status: string): string {
  if (!/^[A-Z][A-Z_]*$/.test(status)) return status;
  return status
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** The outcome of a terminal status, null while the resource is still changing (or the status is unknown). */
export function outcomeOf(resource: SageMakerResource, status: string): SageMakerOutcome | null {
  const s = normalizeStatus(status);
  if (resource.succeeded.has(s)) return 'success';
  if (resource.failed.has(s)) return 'failed';
  if (resource.stopped.has(s)) return 'stopped';
  return null;
}

export function isTerminal(resource: SageMakerResource, status: string): boolean {
  return outcomeOf(resource, status) !== null;
}

/** Terminal and not a success: the task fails (a stopped job never produced its output either). */
export function failsTask(resource: SageMakerResource, status: string): boolean {
  const o = outcomeOf(resource, status);
  return o === 'failed' || o === 'stopped';
}

function reasonIn(resource: Pick<SageMakerResource, 'failureReasonFields'>, data: Record<string, unknown>): string | null {
  for (const f of resource.failureReasonFields) {
    const v = data[f];
    if (typeof v === 'string' && v) return v;
  }
  return null;
}

/** The failure reason of a Describe response, or an event detail; null when none. */
export function failureReasonOf(resource: SageMakerResource, data: Record<string, unknown>): string | null {
  return reasonIn(resource, data);
}

/** The failure reason for a message ("(No reason provided)" when SageMaker gave none, as Airflow says). */
export function failureReasonText(resource: SageMakerResource, desc: Description): string {
  return failureReasonOf(resource, desc) ?? '(No reason provided)';
}

export interface SageMakerArn {
  partition: string;
  region: string;
  account: string;
  arnResource: string;
  name: string;
}

const ARN = /^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]{1,32}):(\d{1,12}):([a-z-]{1,64})\/([A-Za-z0-9-]{1,63})$/;

/** A SageMaker resource ARN taken apart; null when it is not one (ARNs in events are untrusted). */
export function parseSageMakerArn(arn: unknown): SageMakerArn | null {
  if (typeof arn !== 'string') return null;
  const m = ARN.exec(arn);
  return m ? { partition: m[1], region: m[2], account: m[3], arnResource: m[4], name: m[5] } : null;
}
