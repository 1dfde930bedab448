/**
 * Base of every SageMaker operator (Airflow's SageMakerBaseOperator): `config` is the templated
 * request, rendered by the worker into a per-try copy; `preparedConfig()` then deep-copies it and
 * casts Airflow's integer_fields back to numbers (templates render everything as strings).
 *
 * Arguments are read lazily through `this.args`, so DAG default_args (`aws_conn_id`,
 * `region_name`, `deferrable` …) apply even though they are merged after construction.
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { BaseOperator } from '../../../dag/operator.ts';
import type { OperatorArgs } from '../../../dag/task-args.ts';
import type { TaskContext } from '../../../dag/task-context.ts';
import type { DAG } from '../../../dag/dag.ts';
import { InvalidInputError } from '../../../errors/invalid-input-error.ts';
import type { AwsClientFactory } from '../aws-clients.ts';
import { DEFAULT_AWS_CONN_ID } from '../aws-connection.ts';
import { requireAwsClients } from '../services.ts';
import { cloneConfig, parseIntegerFields, stringifyHyperParameters, type FieldPath } from '../sagemaker/config-preprocess.ts';
import type { TaskInstanceIdentity } from '../sagemaker/ownership.ts';

export interface SageMakerBaseArgs extends OperatorArgs {
  /** The SageMaker request (templated). */
  config: Record<string, unknown>;
  /** Default 'aws_default'; null = the SDK's default credential chain. */
  aws_conn_id?: string | null;
  region_name?: string | null;
  dag?: DAG;
  upstream_task_ids?: string[];
}

/** The clients a SageMaker operator needs, from `ctx.services.awsClients` (the process's AwsClientFactory). */
export type SageMakerOperatorClients = Pick<AwsClientFactory, 'sagemaker' | 'logs'>;

export abstract class SageMakerBaseOperator extends BaseOperator {
  static override templateFields: readonly string[] = ['config'];

  config: Record<string, unknown>;

  constructor(args: SageMakerBaseArgs) {
    super(args);
    if (!args.config || typeof args.config !== 'object' || Array.isArray(args.config)) {
      throw new InvalidInputError(`${new.target.name} '${this.taskId}': config must be an object`);
    }
    this.config = args.config;
  }

  get awsConnId(): string | null {
    const v = this.args.aws_conn_id;
    return v === undefined ? DEFAULT_AWS_CONN_ID : v;
  }

  get regionName(): string | null {
    return this.args.region_name ?? null;
  }

  /** Paths of fields cast to integers after rendering (Airflow's integer_fields). */
  protected integerFields(_config: Record<string, unknown>): FieldPath[] {
    return [];
  }

  /** Paths of HyperParameters maps (values must be strings). */
  protected hyperParameterPaths(_config: Record<string, unknown>): FieldPath[] {
    return [];
  }

  /** A private copy of the rendered config with integers cast and hyper-parameters stringified. */
  protected preparedConfig(): Record<string, unknown> {
    const config = cloneConfig(this.config);
    parseIntegerFields(config, this.integerFields(config));
    for (const p of this.hyperParameterPaths(config)) stringifyHyperParameters(config, p);
    return config;
  }

  protected clients(ctx: TaskContext): SageMakerOperatorClients {
    return requireAwsClients(ctx.services, `${this.operatorName} '${this.taskId}'`);
  }

  protected sagemaker(ctx: TaskContext): SageMakerClient {
    return this.clients(ctx).sagemaker(this.awsConnId, this.regionName);
  }

  /** tiIdentity plus the deployment (ownership tags, adoption), when the process knows it. */
  protected async ownerIdentity(ctx: TaskContext): Promise<TaskInstanceIdentity> {
    const deployment = ctx.services.deploymentId ? await ctx.services.deploymentId() : null;
    return { ...this.tiIdentity(ctx), deployment };
  }

  protected tiIdentity(ctx: TaskContext): TaskInstanceIdentity {
    const mapIndex = typeof ctx.map_index === 'number' ? ctx.map_index : -1;
    return { dag_id: ctx.ti.dag_id, run_id: ctx.ti.run_id, task_id: ctx.ti.task_id, map_index: mapIndex, try_number: ctx.ti.try_number };
  }
}
