/** Airflow's SageMakerTuningSensor: waits for a hyper-parameter tuning job. */
import { SageMakerBaseSensor, type SageMakerSensorArgs } from './sagemaker-base-sensor.ts';

export interface SageMakerTuningSensorArgs extends SageMakerSensorArgs {
  job_name: string;
}

export class SageMakerTuningSensor extends SageMakerBaseSensor {
  static override templateFields: readonly string[] = ['job_name'];
  protected readonly jobType = 'tuning' as const;
  protected readonly resourceType = 'tuning job';
  job_name: string;

  constructor(args: SageMakerTuningSensorArgs) {
    super(args);
    this.job_name = args.job_name;
  }

  protected get resourceName(): string {
    return this.job_name;
  }
}
