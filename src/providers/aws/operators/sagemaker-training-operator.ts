/** Airflow's SageMakerTrainingOperator: CreateTrainingJob, wait (sync or deferred); returns `{ Training: describe }`. */
import { TRAINING_JOB, type Description } from '../sagemaker/resources.ts';
import type { FieldPath } from '../sagemaker/config-preprocess.ts';
import { SageMakerJobOperator, type SageMakerJobArgs } from './sagemaker-job-operator.ts';

export type SageMakerTrainingOperatorArgs = SageMakerJobArgs;

export class SageMakerTrainingOperator extends SageMakerJobOperator {
  protected readonly kind = TRAINING_JOB;

  protected override integerFields(): FieldPath[] {
    return [
      ['ResourceConfig', 'InstanceCount'],
      ['ResourceConfig', 'VolumeSizeInGB'],
      ['StoppingCondition', 'MaxRuntimeInSeconds'],
      ['StoppingCondition', 'MaxWaitTimeInSeconds'],
    ];
  }

  protected override hyperParameterPaths(): FieldPath[] {
    return [['HyperParameters']];
  }

  protected override completionNote(desc: Description): string | null {
    // Airflow prints billable seconds when print_log is on.
    if (!this.printLog) return null;
    const billable = desc.BillableTimeInSeconds;
    if (typeof billable === 'number') return `Billable seconds: ${billable}`;
    const start = desc.TrainingStartTime;
    const end = desc.TrainingEndTime;
    const count = (desc.ResourceConfig as { InstanceCount?: number } | undefined)?.InstanceCount ?? 1;
    if (start instanceof Date && end instanceof Date) return `Billable seconds: ${Math.ceil((end.getTime() - start.getTime()) / 1000) * count}`;
    return null;
  }
}
