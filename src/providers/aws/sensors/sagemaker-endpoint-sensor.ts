/** Airflow's SageMakerEndpointSensor: waits until an endpoint is InService. */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { JobDescription } from '../sagemaker/job-kinds.ts';
import { describeEndpoint, ENDPOINT_FAILED, ENDPOINT_IN_PROGRESS } from '../operators/sagemaker-endpoint-operator.ts';
import { SageMakerBaseSensor, type SageMakerSensorArgs } from './sagemaker-base-sensor.ts';

export interface SageMakerEndpointSensorArgs extends SageMakerSensorArgs {
  endpoint_name: string;
}

export class SageMakerEndpointSensor extends SageMakerBaseSensor {
  static override templateFields: readonly string[] = ['endpoint_name'];
  protected readonly jobType = 'endpoint' as const;
  protected readonly resourceType = 'endpoint';
  protected readonly nonTerminalStates = ENDPOINT_IN_PROGRESS;
  protected readonly failedStates = ENDPOINT_FAILED;
  endpoint_name: string;

  constructor(args: SageMakerEndpointSensorArgs) {
    super(args);
    this.endpoint_name = args.endpoint_name;
  }

  protected get resourceName(): string {
    return this.endpoint_name;
  }

  protected describe(client: SageMakerClient, signal: AbortSignal): Promise<JobDescription> {
    return describeEndpoint(client, this.endpoint_name, signal);
  }

  protected stateOf(desc: JobDescription): string {
    return String(desc.EndpointStatus);
  }
}
