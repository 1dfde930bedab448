/**
 * Stop a SageMaker job — what lease fencing does with a job a try submitted after it lost its
 * lease (its worker was paused past the lease, the try was retried elsewhere): the job must not
 * run beside the live try's (issue 14.0). Kept beside the resource table rather than in it: only
 * the job operators' fencing stops jobs.
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SageMakerJobType } from './resources.ts';
import { sageMakerSdk } from '../sdk.ts';

export async function stopJob(client: SageMakerClient, type: SageMakerJobType, name: string): Promise<void> {
  switch (type) {
    case 'training':
      await client.send(new (sageMakerSdk().StopTrainingJobCommand)({ TrainingJobName: name }));
      return;
    case 'transform':
      await client.send(new (sageMakerSdk().StopTransformJobCommand)({ TransformJobName: name }));
      return;
    case 'processing':
      await client.send(new (sageMakerSdk().StopProcessingJobCommand)({ ProcessingJobName: name }));
      return;
    case 'tuning':
      await client.send(new (sageMakerSdk().StopHyperParameterTuningJobCommand)({ HyperParameterTuningJobName: name }));
      return;
  }
}

/** The SageMaker operation that stops a job of `type` (messages, IAM). */
export const STOP_OPERATIONS: Readonly<Record<SageMakerJobType, string>> = {
  training: 'StopTrainingJob',
  transform: 'StopTransformJob',
  processing: 'StopProcessingJob',
  tuning: 'StopHyperParameterTuningJob',
};
