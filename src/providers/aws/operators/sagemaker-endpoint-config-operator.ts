/** Airflow's SageMakerEndpointConfigOperator: CreateEndpointConfig; returns `{ EndpointConfig: describe }`. */
import type { TaskContext } from '../../../dag/task-context.ts';
import type { FieldPath } from '../sagemaker/config-preprocess.ts';
import { describeEndpointConfig, ensureEndpointConfig } from '../sagemaker/hosting-resources.ts';
import { serializeDescribe } from '../sagemaker/serialize.ts';
import { SageMakerBaseOperator, type SageMakerBaseArgs } from './sagemaker-base-operator.ts';

export type SageMakerEndpointConfigOperatorArgs = SageMakerBaseArgs;

export class SageMakerEndpointConfigOperator extends SageMakerBaseOperator {
  constructor(args: SageMakerEndpointConfigOperatorArgs) {
    super(args);
  }

  protected override integerFields(): FieldPath[] {
    return [['ProductionVariants', 'InitialInstanceCount']];
  }

  async execute(ctx: TaskContext): Promise<Record<string, unknown>> {
    const client = this.sagemaker(ctx);
    const name = await ensureEndpointConfig(this.preparedConfig(), { client, ti: this.tiIdentity(ctx), log: ctx.log, signal: ctx.signal });
    return { EndpointConfig: serializeDescribe(await describeEndpointConfig(client, name, ctx.signal)) };
  }
}
