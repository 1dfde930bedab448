/**
 * The AWS SDK packages, loaded on first use instead of when `deferflow/aws` is imported. A DAG file
 * imports `deferflow/aws` only to build operators; parsing it — in a child process, for every
 * `dags list` and every DAG processor pass — must not pay for the SDK (the SageMaker and S3
 * clients alone are about half a second of CPU). Processes that call AWS load it on their first
 * client or command.
 *
 * `require` is synchronous, so client accessors stay synchronous (the triggerer's
 * `awsClients.sagemaker(connId, region)` contract). It returns the very module objects an `import`
 * elsewhere gets: these packages have no `exports` map, so Node loads their CommonJS build for
 * `import` too — one SageMakerClient class, `instanceof` holds (the SDK's paginators check it).
 * test/unit/providers/aws/sdk.test.ts fails if a package ever stops being shared that way.
 */
import { createRequire } from 'node:module';
import type * as CloudWatchLogs from '@aws-sdk/client-cloudwatch-logs';
import type * as EventBridge from '@aws-sdk/client-eventbridge';
import type * as S3 from '@aws-sdk/client-s3';
import type * as SageMaker from '@aws-sdk/client-sagemaker';
import type * as SageMakerRuntime from '@aws-sdk/client-sagemaker-runtime';
import type * as SQS from '@aws-sdk/client-sqs';
import type * as STS from '@aws-sdk/client-sts';
import type * as S3Storage from '@aws-sdk/lib-storage';

const load = createRequire(import.meta.url);

export const sageMakerSdk = (): typeof SageMaker => load('@aws-sdk/client-sagemaker') as typeof SageMaker;
export const sageMakerRuntimeSdk = (): typeof SageMakerRuntime => load('@aws-sdk/client-sagemaker-runtime') as typeof SageMakerRuntime;
export const s3Sdk = (): typeof S3 => load('@aws-sdk/client-s3') as typeof S3;
export const s3StorageSdk = (): typeof S3Storage => load('@aws-sdk/lib-storage') as typeof S3Storage;
export const sqsSdk = (): typeof SQS => load('@aws-sdk/client-sqs') as typeof SQS;
export const eventBridgeSdk = (): typeof EventBridge => load('@aws-sdk/client-eventbridge') as typeof EventBridge;
export const cloudWatchLogsSdk = (): typeof CloudWatchLogs => load('@aws-sdk/client-cloudwatch-logs') as typeof CloudWatchLogs;
export const stsSdk = (): typeof STS => load('@aws-sdk/client-sts') as typeof STS;

/** Every lazily loaded package with its accessor (the sharing test walks them). */
export const LAZY_SDK_PACKAGES = {
  '@aws-sdk/client-sagemaker': sageMakerSdk,
  '@aws-sdk/client-sagemaker-runtime': sageMakerRuntimeSdk,
  '@aws-sdk/client-s3': s3Sdk,
  '@aws-sdk/lib-storage': s3StorageSdk,
  '@aws-sdk/client-sqs': sqsSdk,
  '@aws-sdk/client-eventbridge': eventBridgeSdk,
  '@aws-sdk/client-cloudwatch-logs': cloudWatchLogsSdk,
  '@aws-sdk/client-sts': stsSdk,
} as const;
