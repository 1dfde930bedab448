/** Airflow's SageMakerTransformSensor: waits for a transform job. */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { TRANSFORM_JOB, type JobDescription } from '../sagemaker/job-kinds.ts';
import { SageMakerBaseSensor, type SageMakerSensorArgs } from './sagemaker-base-sensor.ts';

export interface SageMakerTransformSensorArgs extends SageMakerSensorArgs {
  job_name: string;
}

export class SageMakerTransformSensor extends SageMakerBaseSensor {
  static override templateFields: readonly string[] = ['job_name'];
  protected readonly jobType = 'transform' as const;
  protected readonly resourceType = 'transform job';
  protected readonly nonTerminalStates = new Set(['InProgress', 'Stopping']);
  protected readonly failedStates = new Set(['Failed', 'Stopped']);
  job_name: string;

  constructor(args: SageMakerTransformSensorArgs) {
    super(args);
    this.job_name = args.job_name;
  }

  protected get resourceName(): string {
    return this.job_name;
  }

  protected describe(client: SageMakerClient, signal: AbortSignal): Promise<JobDescription> {
    return TRANSFORM_JOB.describe(client, this.job_name, signal);
  }

  protected stateOf(desc: JobDescription): string {
    return String(desc.TransformJobStatus);
  }
}
