/**
 * The AWS provider as a deferral provider: the SageMaker job trigger kind, the routing keys of
 * `aws.sagemaker` events, the SageMaker reconciler (one per triggerer), and the AWS clients every
 * task, hook and trigger of the process uses. The composition root builds the clients once
 * (`AwsClientFactory.forStore(store)`) and passes them here.
 */
import type { DeferralProvider } from '../../../triggers/deferral-provider.ts';
import { anyTriggerKind } from '../../../triggers/trigger-kind.ts';
import type { AwsClientFactory } from '../aws-clients.ts';
import { SAGEMAKER_EVENT_SOURCE, sageMakerRoutingKeys } from './sagemaker-events.ts';
import { sageMakerJobTriggerKind } from './sagemaker-job-trigger.ts';
import { SageMakerReconciler } from './sagemaker-reconciler.ts';

export function awsDeferralProvider(clients: AwsClientFactory): DeferralProvider {
  return {
    name: 'aws',
    triggerKinds: [anyTriggerKind(sageMakerJobTriggerKind)],
    routingKeys: { [SAGEMAKER_EVENT_SOURCE]: sageMakerRoutingKeys },
    reconcilers: [(host) => new SageMakerReconciler(host, { sweepIntervalMs: host.sweep.intervalMs, safetyMarginMs: host.sweep.safetyMarginMs })],
    services: { awsClients: clients },
  };
}
