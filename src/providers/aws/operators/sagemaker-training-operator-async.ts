/** The astronomer-providers style alias: a SageMakerTrainingOperator that always defers. */
import { SageMakerTrainingOperator, type SageMakerTrainingOperatorArgs } from './sagemaker-training-operator.ts';

export class SageMakerTrainingOperatorAsync extends SageMakerTrainingOperator {
  constructor(args: SageMakerTrainingOperatorArgs) {
    super({ ...args, deferrable: true });
  }

  override get deferrable(): boolean {
    return true;
  }
}
