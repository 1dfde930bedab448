/**
 * Which task instance submitted a SageMaker resource, recorded on the resource itself as tags.
 *
 * Why tags: the worker deletes a task's XComs when a new try starts, so a try that died after
 * CreateTrainingJob (before it could defer) leaves no record in MongoDB the next try can read.
 * The job's tags survive anything, so the next try recognises the job as its own and continues
 * with it instead of submitting a second one — and tells it apart from a job of the same name
 * that some other run (or Airflow's timestamp-suffix convention) created.
 *
 * The deployment tag names the deployment (its database, store/repositories/deployment-repository.ts)
 * that submitted the job. It keeps deployments sharing an account apart: the EventBridge rule of
 * `aws setup-events` matches only jobs carrying its deployment's tag, and a job is adopted only by
 * a task of the same deployment — so `tasks test`, which runs on a scratch database of its own,
 * submits a new job each time instead of continuing with the previous invocation's.
 */
import { createHash } from 'node:crypto';
import type { SageMakerClient, Tag } from '@aws-sdk/client-sagemaker';
import { isAwsErrorCode } from '../aws-errors.ts';
import { sageMakerSdk } from '../sdk.ts';

export const TASK_INSTANCE_TAG = 'deferflow:task-instance';
export const TRY_TAG = 'deferflow:try';
export const DEPLOYMENT_TAG = 'deferflow:deployment';

export interface TaskInstanceIdentity {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index?: number;
  try_number: number;
  /** The submitting deployment's id (absent: jobs are told apart by task instance only). */
  deployment?: string | null;
}

/** 40 hex chars: tag values allow few characters, and run ids may hold any. */
export function taskInstanceTagValue(ti: TaskInstanceIdentity): string {
  return createHash('sha256')
    .update(`${ti.dag_id}\u0000${ti.run_id}\u0000${ti.task_id}\u0000${ti.map_index ?? -1}`)
    .digest('hex')
    .slice(0, 40);
}

export function ownershipTags(ti: TaskInstanceIdentity): Tag[] {
  return [
    { Key: TASK_INSTANCE_TAG, Value: taskInstanceTagValue(ti) },
    { Key: TRY_TAG, Value: String(ti.try_number) },
    ...(ti.deployment ? [{ Key: DEPLOYMENT_TAG, Value: ti.deployment }] : []),
  ];
}

const OUR_TAGS = new Set([TASK_INSTANCE_TAG, TRY_TAG, DEPLOYMENT_TAG]);

/** config.Tags plus ours (replacing stale copies of ours, e.g. from a copied config). */
export function withOwnershipTags(config: Record<string, unknown>, ti: TaskInstanceIdentity): void {
  const existing = Array.isArray(config.Tags) ? (config.Tags as Tag[]) : [];
  const kept = existing.filter((t) => t && !OUR_TAGS.has(t.Key ?? ''));
  config.Tags = [...kept, ...ownershipTags(ti)];
}

export interface Ownership {
  /** Submitted by this task instance, in this deployment. */
  ours: boolean;
  /** The try that created it (when ours). */
  tryNumber: number | null;
}

/**
 * Read a resource's owner. `null` when it cannot be told (no ARN, or the endpoint does not
 * implement ListTags) — callers then treat the resource as someone else's, Airflow's behaviour.
 */
export async function readOwnership(client: SageMakerClient, arn: unknown, ti: TaskInstanceIdentity, signal?: AbortSignal): Promise<Ownership | null> {
  if (typeof arn !== 'string' || !arn) return null;
  try {
    const out = await client.send(new (sageMakerSdk().ListTagsCommand)({ ResourceArn: arn, MaxResults: 100 }), signal ? { abortSignal: signal } : undefined);
    const tags = out.Tags ?? [];
    const deployment = tags.find((t) => t.Key === DEPLOYMENT_TAG)?.Value;
    // A job tagged by another deployment is never ours, whatever task it names (a `tasks test`
    // scratch run, or a second deployment whose DAGs share names with ours).
    const sameDeployment = !deployment || !ti.deployment || deployment === ti.deployment;
    const mine = sameDeployment && tags.find((t) => t.Key === TASK_INSTANCE_TAG)?.Value === taskInstanceTagValue(ti);
    const tryTag = tags.find((t) => t.Key === TRY_TAG)?.Value;
    return { ours: mine, tryNumber: mine && tryTag && /^\d+$/.test(tryTag) ? Number(tryTag) : null };
  } catch (e) {
    if (isAwsErrorCode(e, 'UnknownOperationException', 'UnknownOperation', 'InvalidAction', 'NotImplemented')) return null;
    throw e;
  }
}
