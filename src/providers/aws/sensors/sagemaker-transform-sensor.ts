/** Airflow's SageMakerTransformSensor: waits for a transform job. */
import { SageMakerBaseSensor, type SageMakerSensorArgs } from './sagemaker-base-sensor.ts';

export interface SageMakerTransformSensorArgs extends SageMakerSensorArgs {
  job_name: string;
}

export class SageMakerTransformSensor extends SageMakerBaseSensor {
  static override templateFields: readonly string[] = ['job_name'];
  protected readonly jobType = 'transform' as const;
  protected readonly resourceType = 'transform job';
  job_name: string;

  constructor(args: SageMakerTransformSensorArgs) {
    super(args);
    this.job_name = args.job_name;
  }

  protected get resourceName(): string {
    return this.job_name;
  }
}
