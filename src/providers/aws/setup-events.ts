/**
 * `deferflow aws setup-events`: the AWS plumbing that lets the triggerer hear about SageMaker jobs
 * instead of polling them — an SQS queue (with a dead-letter queue), an EventBridge rule matching
 * SageMaker's state-change events, the rule → queue target, and the queue policy that lets
 * EventBridge deliver. Idempotent: run it again and it reports what it found.
 *
 * One stream per deployment (several may share an account): given the deployment's id, the queue
 * is `deferflow-sagemaker-events-<id>` and the rule matches only the state changes of jobs tagged
 * `deferflow:deployment = <id>` (SageMaker's state-change events carry the job's tags; the
 * operators tag every job they create). So a deployment's triggerer never sees — let alone
 * deletes — another deployment's events, and the triggerer finds its queue by the same name.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SAGEMAKER_EVENT_SOURCE } from './deferral/sagemaker-events.ts';
import { SAGEMAKER_RESOURCES } from './sagemaker/resources.ts';
import { isNotFound, toAwsError } from './aws-errors.ts';
import { DEPLOYMENT_TAG } from './sagemaker/ownership.ts';
import { eventBridgeSdk, sqsSdk } from './sdk.ts';

export interface SetupEventsClients {
  sqs(connId?: string | null, region?: string | null): SQSClient;
  eventBridge(connId?: string | null, region?: string | null): EventBridgeClient;
}

export interface SetupSageMakerEventsOptions {
  clients: SetupEventsClients;
  connId?: string | null;
  /** The deployment whose stream this is: names the queue (unless `queueName`) and filters the rule to its jobs. */
  deploymentId?: string | null;
  queueName?: string;
  region?: string | null;
  /** Deliveries before a message goes to the dead-letter queue (default 5). */
  maxReceiveCount?: number;
}

export type ResourceOutcome = 'created' | 'found' | 'updated';

export interface SetupSageMakerEventsResult {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
  ruleName: string;
  ruleArn: string;
  eventPattern: Record<string, unknown>;
  /** The deployment the rule is filtered to (null: every SageMaker job of the account and region). */
  deploymentId: string | null;
  /** What happened to each resource, in creation order, for the CLI to print. */
  resources: Array<{ kind: 'dlq' | 'queue' | 'rule' | 'target' | 'queue-policy' | 'redrive-policy'; name: string; outcome: ResourceOutcome }>;
}

export const DEFAULT_EVENTS_QUEUE = 'deferflow-sagemaker-events';
const TARGET_ID = 'deferflow-sqs';

/** The queue of one deployment's SageMaker events (what setup-events makes and the triggerer consumes). */
export function deploymentEventsQueue(deploymentId: string): string {
  return `${DEFAULT_EVENTS_QUEUE}-${deploymentId}`;
}

/**
 * SageMaker's state changes — of one deployment's jobs only, given its id. The events carry the
 * job's tags as a map (`"Tags": {"key": "value"}`); the pattern also accepts a list of
 * `{Key, Value}` pairs, the shape of the Tags of a Create request, in case a resource type sends
 * them that way.
 */
export function sageMakerEventPattern(deploymentId?: string | null): Record<string, unknown> {
  return {
    source: [SAGEMAKER_EVENT_SOURCE],
    'detail-type': Object.values(SAGEMAKER_RESOURCES).map((r) => r.detailType),
    ...(deploymentId ? { detail: { $or: [{ Tags: { [DEPLOYMENT_TAG]: [deploymentId] } }, { Tags: { Key: [DEPLOYMENT_TAG], Value: [deploymentId] } }] } } : {}),
  };
}

export async function setupSageMakerEvents(opts: SetupSageMakerEventsOptions): Promise<SetupSageMakerEventsResult> {
  const deploymentId = opts.deploymentId ?? null;
  const queueName = opts.queueName ?? (deploymentId ? deploymentEventsQueue(deploymentId) : DEFAULT_EVENTS_QUEUE);
  const dlqName = `${queueName}-dlq`;
  const ruleName = `${queueName}-rule`;
  const sqs = opts.clients.sqs(opts.connId, opts.region);
  const events = opts.clients.eventBridge(opts.connId, opts.region);
  const resources: SetupSageMakerEventsResult['resources'] = [];

  try {
    const dlq = await ensureQueue(sqs, dlqName, { MessageRetentionPeriod: String(14 * 24 * 3600) });
    resources.push({ kind: 'dlq', name: dlqName, outcome: dlq.outcome });
    const queue = await ensureQueue(sqs, queueName, { ReceiveMessageWaitTimeSeconds: '20', MessageRetentionPeriod: String(4 * 24 * 3600) });
    resources.push({ kind: 'queue', name: queueName, outcome: queue.outcome });

    const pattern = sageMakerEventPattern(deploymentId);
    const patternJson = JSON.stringify(pattern);
    let ruleArn: string | undefined;
    let ruleOutcome: ResourceOutcome = 'created';
    try {
      const existing = await events.send(new (eventBridgeSdk().DescribeRuleCommand)({ Name: ruleName }));
      ruleArn = existing.Arn;
      ruleOutcome = existing.EventPattern && samePattern(existing.EventPattern, pattern) && existing.State === 'ENABLED' ? 'found' : 'updated';
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (ruleOutcome !== 'found') {
      const put = await events.send(
        new (eventBridgeSdk().PutRuleCommand)({
          Name: ruleName,
          EventPattern: patternJson,
          State: 'ENABLED',
          Description: deploymentId
            ? `SageMaker state changes of deferflow deployment ${deploymentId}'s jobs, for its triggerer`
            : 'SageMaker job and endpoint state changes for the deferflow triggerer',
        }),
      );
      ruleArn = put.RuleArn ?? ruleArn;
    }
    if (!ruleArn) throw new Error(`EventBridge returned no ARN for rule ${ruleName}`);
    resources.push({ kind: 'rule', name: ruleName, outcome: ruleOutcome });

    const targets = await events.send(new (eventBridgeSdk().ListTargetsByRuleCommand)({ Rule: ruleName }));
    const target = (targets.Targets ?? []).find((t) => t.Id === TARGET_ID);
    if (target?.Arn === queue.arn) {
      resources.push({ kind: 'target', name: TARGET_ID, outcome: 'found' });
    } else {
      const put = await events.send(new (eventBridgeSdk().PutTargetsCommand)({ Rule: ruleName, Targets: [{ Id: TARGET_ID, Arn: queue.arn }] }));
      if (put.FailedEntryCount) throw new Error(`PutTargets failed: ${JSON.stringify(put.FailedEntries)}`);
      resources.push({ kind: 'target', name: TARGET_ID, outcome: target ? 'updated' : 'created' });
    }

    // Queue policy (EventBridge may send) and redrive policy (poison messages go to the DLQ).
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Id: `${queueName}-policy`,
      Statement: [
        {
          Sid: 'AllowEventBridgeSageMakerRule',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: queue.arn,
          Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
        },
      ],
    });
    const redrive = JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: opts.maxReceiveCount ?? 5 });
    const attrs = queue.attributes;
    const policyOk = attrs.Policy !== undefined && sameJson(attrs.Policy, policy);
    const redriveOk = attrs.RedrivePolicy !== undefined && sameJson(attrs.RedrivePolicy, redrive);
    if (!policyOk || !redriveOk) {
      await sqs.send(new (sqsSdk().SetQueueAttributesCommand)({ QueueUrl: queue.url, Attributes: { Policy: policy, RedrivePolicy: redrive } }));
    }
    resources.push({ kind: 'queue-policy', name: queueName, outcome: policyOk ? 'found' : attrs.Policy ? 'updated' : 'created' });
    resources.push({ kind: 'redrive-policy', name: queueName, outcome: redriveOk ? 'found' : attrs.RedrivePolicy ? 'updated' : 'created' });

    return { queueUrl: queue.url, queueArn: queue.arn, dlqUrl: dlq.url, dlqArn: dlq.arn, ruleName, ruleArn, eventPattern: pattern, deploymentId, resources };
  } catch (e) {
    throw toAwsError(e, 'Setting up SageMaker events');
  }
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string; outcome: ResourceOutcome; attributes: Record<string, string> }> {
  let url: string | undefined;
  let outcome: ResourceOutcome = 'found';
  try {
    url = (await sqs.send(new (sqsSdk().GetQueueUrlCommand)({ QueueName: name }))).QueueUrl;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (!url) {
    url = (await sqs.send(new (sqsSdk().CreateQueueCommand)({ QueueName: name, Attributes: attributes }))).QueueUrl;
    outcome = 'created';
  }
  if (!url) throw new Error(`SQS returned no URL for queue ${name}`);
  const got = await sqs.send(new (sqsSdk().GetQueueAttributesCommand)({ QueueUrl: url, AttributeNames: ['All'] }));
  const attrs = (got.Attributes ?? {}) as Record<string, string>;
  if (!attrs.QueueArn) throw new Error(`SQS returned no ARN for queue ${name}`);
  return { url, arn: attrs.QueueArn, outcome, attributes: attrs };
}

function samePattern(json: string, pattern: Record<string, unknown>): boolean {
  return sameJson(json, JSON.stringify(pattern));
}

function sameJson(a: string, b: string): boolean {
  try {
    return canonical(JSON.parse(a)) === canonical(JSON.parse(b));
  } catch {
    return false;
  }
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as Record<string, unknown>)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export interface IamPermission {
  action: string;
  why: string;
}

/** IAM actions deferflow uses, for the README and `deferflow aws setup-events --print-policy`. */
export function requiredIamPermissions(): IamPermission[] {
  const sm = (actions: string[], why: string) => actions.map((a) => ({ action: `sagemaker:${a}`, why }));
  return [
    ...sm(['CreateTrainingJob', 'DescribeTrainingJob', 'ListTrainingJobs'], 'SageMakerTrainingOperator / sensor / reconcile sweep'),
    ...sm(['CreateProcessingJob', 'DescribeProcessingJob', 'ListProcessingJobs'], 'SageMakerProcessingOperator / reconcile sweep'),
    ...sm(['CreateTransformJob', 'DescribeTransformJob', 'ListTransformJobs'], 'SageMakerTransformOperator / sensor / reconcile sweep'),
    ...sm(
      ['CreateHyperParameterTuningJob', 'DescribeHyperParameterTuningJob', 'ListHyperParameterTuningJobs'],
      'SageMakerTuningOperator / sensor / reconcile sweep',
    ),
    ...sm(['CreateModel', 'DescribeModel'], 'SageMakerModelOperator, Transform/Endpoint operators with a Model config'),
    ...sm(['CreateEndpointConfig', 'DescribeEndpointConfig'], 'SageMakerEndpointConfigOperator / SageMakerEndpointOperator'),
    ...sm(['CreateEndpoint', 'UpdateEndpoint', 'DescribeEndpoint', 'ListEndpoints'], 'SageMakerEndpointOperator / sensor / reconcile sweep'),
    ...sm(['AddTags', 'ListTags'], 'ownership tags that stop a retried task from submitting a job twice'),
    ...sm(
      ['StopTrainingJob', 'StopProcessingJob', 'StopTransformJob', 'StopHyperParameterTuningJob'],
      'lease fencing: stop a job submitted by a try that lost its lease meanwhile',
    ),
    { action: 'iam:PassRole', why: "pass the job's execution role (RoleArn / ExecutionRoleArn) to SageMaker" },
    { action: 'logs:DescribeLogStreams', why: 'print_log: find the job log streams' },
    { action: 'logs:GetLogEvents', why: 'print_log: copy job log lines into the task log' },
    { action: 's3:GetObject', why: 'S3Hook reads' },
    { action: 's3:PutObject', why: 'S3Hook loads' },
    { action: 's3:ListBucket', why: 'S3Hook listKeys / checkForKey' },
    { action: 's3:CreateBucket', why: 'S3Hook createBucket (optional)' },
    { action: 'sqs:ReceiveMessage', why: 'triggerer: consume SageMaker state-change events' },
    { action: 'sqs:DeleteMessage', why: 'triggerer: acknowledge events once the resume is persisted' },
    { action: 'sqs:ChangeMessageVisibility', why: 'triggerer: hand back events it cannot process yet' },
    { action: 'sqs:GetQueueUrl', why: 'triggerer and setup-events' },
    { action: 'sqs:GetQueueAttributes', why: 'setup-events: check the queue' },
    { action: 'sqs:CreateQueue', why: 'setup-events (one-off)' },
    { action: 'sqs:SetQueueAttributes', why: 'setup-events: queue and redrive policies (one-off)' },
    { action: 'events:DescribeRule', why: 'setup-events (one-off)' },
    { action: 'events:PutRule', why: 'setup-events (one-off)' },
    { action: 'events:ListTargetsByRule', why: 'setup-events (one-off)' },
    { action: 'events:PutTargets', why: 'setup-events (one-off)' },
    { action: 'sts:AssumeRole', why: 'connections with role_arn' },
  ];
}
