/** Airflow's SageMakerEndpointSensor: waits until an endpoint is InService. */
import { SageMakerBaseSensor, type SageMakerSensorArgs } from './sagemaker-base-sensor.ts';

export interface SageMakerEndpointSensorArgs extends SageMakerSensorArgs {
  endpoint_name: string;
}

export class SageMakerEndpointSensor extends SageMakerBaseSensor {
  static override templateFields: readonly string[] = ['endpoint_name'];
  protected readonly jobType = 'endpoint' as const;
  protected readonly resourceType = 'endpoint';
  endpoint_name: string;

  constructor(args: SageMakerEndpointSensorArgs) {
    super(args);
    this.endpoint_name = args.endpoint_name;
  }

  protected get resourceName(): string {
    return this.endpoint_name;
  }
}
