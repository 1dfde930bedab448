/** Airflow's SageMakerModelOperator: CreateModel; returns `{ Model: describe }`. */
import type { TaskContext } from '../../../dag/task-context.ts';
import { describeModel, ensureModel } from '../sagemaker/hosting-resources.ts';
import { serializeDescribe } from '../sagemaker/serialize.ts';
import { SageMakerBaseOperator, type SageMakerBaseArgs } from './sagemaker-base-operator.ts';

export type SageMakerModelOperatorArgs = SageMakerBaseArgs;

export class SageMakerModelOperator extends SageMakerBaseOperator {
  constructor(args: SageMakerModelOperatorArgs) {
    super(args);
  }

  async execute(ctx: TaskContext): Promise<Record<string, unknown>> {
    const client = this.sagemaker(ctx);
    // No renaming: like Airflow, a name taken by someone else is AWS's "already existing model" error.
    const name = await ensureModel(this.preparedConfig(), { client, ti: this.tiIdentity(ctx), log: ctx.log, signal: ctx.signal, check: true, action: null });
    return { Model: serializeDescribe(await describeModel(client, name, ctx.signal)) };
  }
}
