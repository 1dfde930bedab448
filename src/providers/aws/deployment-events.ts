/**
 * A deployment's own SageMaker event stream, on the consuming side: the triggerer finds the queue
 * `aws setup-events` made for its deployment (deferflow-sagemaker-events-<id>) by name, and never
 * deletes an event about another deployment's job from whatever queue it reads (a queue shared by
 * mistake, or an older set-up without the per-deployment rule): such an event is handed back
 * (SqsEventSource's `othersEvent`).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from '../../events/eventbridge-event.ts';
import { isNotFound } from './aws-errors.ts';
import { SAGEMAKER_EVENT_SOURCE } from './deferral/sagemaker-events.ts';
import { DEPLOYMENT_TAG } from './sagemaker/ownership.ts';
import { deploymentEventsQueue } from './setup-events.ts';
import { sqsSdk } from './sdk.ts';

/** The deployment tag an event's detail carries (a map, or a list of {Key, Value}); null when none. */
export function deploymentTagOf(event: Pick<EventBridgeEvent, 'detail'>): string | null {
  const tags = (event.detail as Record<string, unknown> | undefined)?.Tags;
  if (Array.isArray(tags)) {
    for (const t of tags) {
      if (t && typeof t === 'object' && (t as Record<string, unknown>).Key === DEPLOYMENT_TAG) {
        const v = (t as Record<string, unknown>).Value;
        return typeof v === 'string' ? v : null;
      }
    }
    return null;
  }
  if (tags && typeof tags === 'object') {
    const v = (tags as Record<string, unknown>)[DEPLOYMENT_TAG];
    return typeof v === 'string' ? v : null;
  }
  return null;
}

/** Whether an event is about a SageMaker job another deployment submitted (untagged jobs are nobody's in particular). */
export function othersEventFor(deploymentId: string): (event: EventBridgeEvent) => boolean {
  return (event) => {
    if (event.source !== SAGEMAKER_EVENT_SOURCE) return false;
    const tag = deploymentTagOf(event);
    return tag !== null && tag !== deploymentId;
  };
}

/** The URL of the deployment's queue, or null when `aws setup-events` has not made it (in this account and region). */
export async function findDeploymentQueue(sqs: SQSClient, deploymentId: string): Promise<string | null> {
  try {
    return (await sqs.send(new (sqsSdk().GetQueueUrlCommand)({ QueueName: deploymentEventsQueue(deploymentId) }))).QueueUrl ?? null;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}
