/** Airflow's SageMakerTuningSensor: waits for a hyper-parameter tuning job. */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { TUNING_JOB, type JobDescription } from '../sagemaker/job-kinds.ts';
import { SageMakerBaseSensor, type SageMakerSensorArgs } from './sagemaker-base-sensor.ts';

export interface SageMakerTuningSensorArgs extends SageMakerSensorArgs {
  job_name: string;
}

export class SageMakerTuningSensor extends SageMakerBaseSensor {
  static override templateFields: readonly string[] = ['job_name'];
  protected readonly jobType = 'tuning' as const;
  protected readonly resourceType = 'tuning job';
  protected readonly nonTerminalStates = new Set(['InProgress', 'Stopping']);
  protected readonly failedStates = new Set(['Failed', 'Stopped']);
  job_name: string;

  constructor(args: SageMakerTuningSensorArgs) {
    super(args);
    this.job_name = args.job_name;
  }

  protected get resourceName(): string {
    return this.job_name;
  }

  protected describe(client: SageMakerClient, signal: AbortSignal): Promise<JobDescription> {
    return TUNING_JOB.describe(client, this.job_name, signal);
  }

  protected stateOf(desc: JobDescription): string {
    return String(desc.HyperParameterTuningJobStatus);
  }
}
