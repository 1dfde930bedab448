/**
 * Airflow's SageMakerTransformOperator. `config` is either the CreateTransformJob request or
 * `{ Model, Transform }` to create the model first. Returns `{ Model: …, Transform: … }`.
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { TaskContext } from '../../../dag/task-context.ts';
import { InvalidInputError } from '../../../errors/invalid-input-error.ts';
import type { FieldPath } from '../sagemaker/config-preprocess.ts';
import { describeModel, ensureModel } from '../sagemaker/hosting-resources.ts';
import { TRANSFORM_JOB, type Description } from '../sagemaker/resources.ts';
import { serializeDescribe } from '../sagemaker/serialize.ts';
import { SageMakerJobOperator, type SageMakerJobArgs } from './sagemaker-job-operator.ts';

export interface SageMakerTransformOperatorArgs extends SageMakerJobArgs {
  /** Look for an existing model of the same name first (default true). */
  check_if_model_exists?: boolean;
  /** 'timestamp' (default) renames the model on collision, 'fail' errors. */
  action_if_model_exists?: 'timestamp' | 'fail';
}

export class SageMakerTransformOperator extends SageMakerJobOperator {
  protected readonly kind = TRANSFORM_JOB;

  constructor(args: SageMakerTransformOperatorArgs) {
    super(args);
    const a = args.action_if_model_exists;
    if (a !== undefined && a !== 'timestamp' && a !== 'fail') {
      throw new InvalidInputError(`Argument action_if_model_exists accepts only 'timestamp' and 'fail'. Provided value: '${String(a)}'.`);
    }
  }

  protected override integerFields(config: Record<string, unknown>): FieldPath[] {
    const fields: FieldPath[] = [['TransformResources', 'InstanceCount'], ['MaxConcurrentTransforms'], ['MaxPayloadInMB']];
    return 'Transform' in config ? fields.map((f) => ['Transform', ...f]) : fields;
  }

  protected override jobRequest(config: Record<string, unknown>): Record<string, unknown> {
    const t = config.Transform;
    return t && typeof t === 'object' && !Array.isArray(t) ? (t as Record<string, unknown>) : config;
  }

  protected override async beforeSubmit(ctx: TaskContext, client: SageMakerClient, config: Record<string, unknown>): Promise<void> {
    const model = config.Model;
    if (!model || typeof model !== 'object' || Array.isArray(model)) return;
    const name = await ensureModel(model as Record<string, unknown>, {
      client,
      ti: this.tiIdentity(ctx),
      log: ctx.log,
      signal: ctx.signal,
      check: (this.args.check_if_model_exists as boolean | undefined) ?? true,
      action: (this.args.action_if_model_exists as 'timestamp' | 'fail' | undefined) ?? 'timestamp',
    });
    const transform = this.jobRequest(config);
    if ('ModelName' in transform) transform.ModelName = name;
  }

  protected override async result(ctx: TaskContext, client: SageMakerClient, desc: Description): Promise<Record<string, unknown>> {
    const modelName = desc.ModelName;
    const model = typeof modelName === 'string' ? await describeModel(client, modelName, ctx.signal) : null;
    return { Model: serializeDescribe(model ?? {}), Transform: serializeDescribe(desc) };
  }
}
