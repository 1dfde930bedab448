/**
 * The `awsClients` service triggers look up by name (ctx.service<AwsClients>('awsClients')).
 * Implemented by the AWS provider (connections → SDK clients); tests build a tiny one pointing at
 * the local AWS. Implementations should cache clients per (connection, region).
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';

export const AWS_CLIENTS_SERVICE = 'awsClients';

export interface AwsClients {
  sagemaker(connId?: string | null, region?: string | null): SageMakerClient;
  /** For print_log while deferred (SageMaker job trigger); without it lines are copied at resume. */
  logs?(connId?: string | null, region?: string | null): CloudWatchLogsClient;
}
