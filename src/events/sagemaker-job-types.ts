/**
 * What deferflow knows about SageMaker's five waitable resources: the EventBridge detail-type of
 * their state changes, where the name and status sit in an event, which statuses are terminal and
 * how those map to the trigger payload. Shared by the routing-key extractor, the SageMaker job
 * trigger and the reconcile sweep, so all three agree on keys and outcomes.
 */
import type { EventBridgeEvent } from './eventbridge-event.ts';
export const SAGEMAKER_JOB_TYPES = ['training', 'transform', 'processing', 'tuning', 'endpoint'] as const;
export type SageMakerJobType = (typeof SAGEMAKER_JOB_TYPES)[number];

/** Airflow's SageMakerTrigger outcome vocabulary (plus 'timeout', set by the triggerer). */
export type SageMakerOutcome = 'success' | 'failed' | 'stopped';

export interface SageMakerJobTypeSpec {
  type: SageMakerJobType;
  /** Resource segment used in ARNs and in our routing keys ('training-job', 'endpoint', …). */
  resource: string;
  detailType: string;
  nameField: string;
  statusField: string;
  /** Terminal statuses; everything else (InProgress, Stopping, Creating, Updating, …) is not. */
  outcomes: Readonly<Record<string, SageMakerOutcome>>;
}

export const SAGEMAKER_JOB_SPECS: Readonly<Record<SageMakerJobType, SageMakerJobTypeSpec>> = {
  training: {
    type: 'training',
    resource: 'training-job',
    detailType: 'SageMaker Training Job State Change',
    nameField: 'TrainingJobName',
    statusField: 'TrainingJobStatus',
    outcomes: { Completed: 'success', Failed: 'failed', Stopped: 'stopped' },
  },
  transform: {
    type: 'transform',
    resource: 'transform-job',
    detailType: 'SageMaker Transform Job State Change',
    nameField: 'TransformJobName',
    statusField: 'TransformJobStatus',
    outcomes: { Completed: 'success', Failed: 'failed', Stopped: 'stopped' },
  },
  processing: {
    type: 'processing',
    resource: 'processing-job',
    detailType: 'SageMaker Processing Job State Change',
    nameField: 'ProcessingJobName',
    statusField: 'ProcessingJobStatus',
    outcomes: { Completed: 'success', Failed: 'failed', Stopped: 'stopped' },
  },
  tuning: {
    type: 'tuning',
    resource: 'hyper-parameter-tuning-job',
    detailType: 'SageMaker HyperParameter Tuning Job State Change',
    nameField: 'HyperParameterTuningJobName',
    statusField: 'HyperParameterTuningJobStatus',
    outcomes: { Completed: 'success', Failed: 'failed', Stopped: 'stopped' },
  },
  endpoint: {
    type: 'endpoint',
    resource: 'endpoint',
    detailType: 'SageMaker Endpoint State Change',
    nameField: 'EndpointName',
    statusField: 'EndpointStatus',
    // An endpoint never "completes": InService is what a deploy waits for.
    // Describe says 'InService'/'Failed'; the EventBridge "Endpoint State Change" detail spells the
    // same states 'IN_SERVICE'/'FAILED' (AWS's documented event shape), so map both.
    outcomes: { InService: 'success', Failed: 'failed', IN_SERVICE: 'success', FAILED: 'failed' },
  },
};

const SPEC_BY_DETAIL_TYPE = new Map<string, SageMakerJobTypeSpec>(Object.values(SAGEMAKER_JOB_SPECS).map((s) => [s.detailType, s]));

export function specForDetailType(detailType: string): SageMakerJobTypeSpec | undefined {
  return SPEC_BY_DETAIL_TYPE.get(detailType);
}

/**
 * The routing key of one SageMaker resource. Names are lower-cased because SageMaker ARNs carry
 * them lower-cased, so a key built from an ARN and one built from a name agree.
 */
export function sageMakerKey(type: SageMakerJobType, name: string): string {
  return `sagemaker:${SAGEMAKER_JOB_SPECS[type].resource}:${name.toLowerCase()}`;
}

export interface SageMakerStatusChange {
  type: SageMakerJobType;
  name: string;
  status: string;
  /** Set when the status is terminal. */
  outcome: SageMakerOutcome | null;
  failureReason: string | null;
}

/** Name/status of a SageMaker state-change event, or null if it is not one we wait on. */
export function parseSageMakerEvent(event: {
  source: string;
  'detail-type': string;
  resources?: string[];
  detail: Record<string, unknown>;
}): SageMakerStatusChange | null {
  if (event.source !== 'aws.sagemaker') return null;
  const spec = specForDetailType(event['detail-type']);
  if (!spec) return null;
  const detail = event.detail ?? {};
  let name = typeof detail[spec.nameField] === 'string' ? (detail[spec.nameField] as string) : null;
  if (!name) name = nameFromArn(event.resources?.[0], spec.resource);
  const status = typeof detail[spec.statusField] === 'string' ? (detail[spec.statusField] as string) : null;
  if (!name || !status) return null;
  const reason = detail.FailureReason ?? detail.ExitMessage;
  return { type: spec.type, name, status, outcome: spec.outcomes[status] ?? null, failureReason: typeof reason === 'string' ? reason : null };
}

function nameFromArn(arn: string | undefined, resource: string): string | null {
  if (!arn) return null;
  const i = arn.indexOf(`:${resource}/`);
  return i >= 0 ? arn.slice(i + resource.length + 2) : null;
}

/** A synthetic state-change event, shaped exactly like SageMaker's, for Describe/List results. */
export function syntheticSageMakerEvent(args: {
  type: SageMakerJobType;
  name: string;
  status: string;
  failureReason?: string | null;
  region: string;
  account?: string;
  origin: string;
}): EventBridgeEvent {
  const spec = SAGEMAKER_JOB_SPECS[args.type];
  const account = args.account ?? '000000000000';
  const detail: Record<string, unknown> = { [spec.nameField]: args.name, [spec.statusField]: args.status, 'deferflow-origin': args.origin };
  if (args.failureReason) detail.FailureReason = args.failureReason;
  return {
    version: '0',
    id: `${args.origin}-${spec.resource}-${args.name}-${args.status}`,
    'detail-type': spec.detailType,
    source: 'aws.sagemaker',
    account,
    time: new Date().toISOString(),
    region: args.region,
    resources: [`arn:aws:sagemaker:${args.region}:${account}:${spec.resource}/${args.name.toLowerCase()}`],
    detail,
  };
}
