/** Airflow's SageMakerProcessingOperator: CreateProcessingJob, wait; returns `{ Processing: describe }`. */
import { PROCESSING_JOB } from '../sagemaker/resources.ts';
import type { FieldPath } from '../sagemaker/config-preprocess.ts';
import { SageMakerJobOperator, type SageMakerJobArgs } from './sagemaker-job-operator.ts';

export type SageMakerProcessingOperatorArgs = SageMakerJobArgs;

export class SageMakerProcessingOperator extends SageMakerJobOperator {
  protected readonly kind = PROCESSING_JOB;

  protected override integerFields(): FieldPath[] {
    return [
      ['ProcessingResources', 'ClusterConfig', 'InstanceCount'],
      ['ProcessingResources', 'ClusterConfig', 'VolumeSizeInGB'],
      ['StoppingCondition', 'MaxRuntimeInSeconds'],
    ];
  }
}
