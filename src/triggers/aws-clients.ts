/**
 * The `awsClients` service triggers look up by name (ctx.service<AwsClients>('awsClients')).
 * Implemented by the AWS provider (connections → SDK clients); tests build a tiny one pointing at
 * the local AWS. Implementations should cache clients per (connection, region).
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';

export const AWS_CLIENTS_SERVICE = 'awsClients';

export interface AwsClients {
  sagemaker(connId?: string | null, region?: string | null): SageMakerClient;
}
