/** A SageMakerEndpointOperator that always defers. */
import { SageMakerEndpointOperator, type SageMakerEndpointOperatorArgs } from './sagemaker-endpoint-operator.ts';

export class SageMakerEndpointOperatorAsync extends SageMakerEndpointOperator {
  constructor(args: SageMakerEndpointOperatorArgs) {
    super({ ...args, deferrable: true });
  }

  override get deferrable(): boolean {
    return true;
  }
}
