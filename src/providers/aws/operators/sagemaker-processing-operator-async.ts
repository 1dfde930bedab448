/** A SageMakerProcessingOperator that always defers. */
import { SageMakerProcessingOperator, type SageMakerProcessingOperatorArgs } from './sagemaker-processing-operator.ts';

export class SageMakerProcessingOperatorAsync extends SageMakerProcessingOperator {
  constructor(args: SageMakerProcessingOperatorArgs) {
    super({ ...args, deferrable: true });
  }

  override get deferrable(): boolean {
    return true;
  }
}
