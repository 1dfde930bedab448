/** A SageMakerTransformOperator that always defers. */
import { SageMakerTransformOperator, type SageMakerTransformOperatorArgs } from './sagemaker-transform-operator.ts';

export class SageMakerTransformOperatorAsync extends SageMakerTransformOperator {
  constructor(args: SageMakerTransformOperatorArgs) {
    super({ ...args, deferrable: true });
  }

  override get deferrable(): boolean {
    return true;
  }
}
