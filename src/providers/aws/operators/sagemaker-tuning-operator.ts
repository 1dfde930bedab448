/**
 * Airflow's SageMakerTuningOperator: CreateHyperParameterTuningJob, wait; returns
 * `{ Tuning: describe }`. Tuning job names are limited to 32 characters, so suffixes keep to that.
 */
import { TUNING_JOB } from '../sagemaker/resources.ts';
import type { FieldPath } from '../sagemaker/config-preprocess.ts';
import { SageMakerJobOperator, type SageMakerJobArgs } from './sagemaker-job-operator.ts';

/** Airflow's tuning operator has no print_log (tuning jobs have no log stream of their own). */
// (Not Omit<>: OperatorArgs has an index signature, which Omit would collapse.)
export type SageMakerTuningOperatorArgs = SageMakerJobArgs & { print_log?: never };

export class SageMakerTuningOperator extends SageMakerJobOperator {
  protected readonly kind = TUNING_JOB;

  constructor(args: SageMakerTuningOperatorArgs) {
    super(args);
  }

  protected override integerFields(): FieldPath[] {
    return [
      ['HyperParameterTuningJobConfig', 'ResourceLimits', 'MaxNumberOfTrainingJobs'],
      ['HyperParameterTuningJobConfig', 'ResourceLimits', 'MaxParallelTrainingJobs'],
      ['TrainingJobDefinition', 'ResourceConfig', 'InstanceCount'],
      ['TrainingJobDefinition', 'ResourceConfig', 'VolumeSizeInGB'],
      ['TrainingJobDefinition', 'StoppingCondition', 'MaxRuntimeInSeconds'],
    ];
  }

  protected override hyperParameterPaths(): FieldPath[] {
    return [['TrainingJobDefinition', 'StaticHyperParameters']];
  }
}
