/** A SageMakerTuningOperator that always defers. */
import { SageMakerTuningOperator, type SageMakerTuningOperatorArgs } from './sagemaker-tuning-operator.ts';

export class SageMakerTuningOperatorAsync extends SageMakerTuningOperator {
  constructor(args: SageMakerTuningOperatorArgs) {
    super({ ...args, deferrable: true });
  }

  override get deferrable(): boolean {
    return true;
  }
}
