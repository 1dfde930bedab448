/**
 * Airflow's SageMakerEndpointOperator: optionally creates the model and endpoint config
 * (`config = { Model, EndpointConfig, Endpoint }`, or just the endpoint request), then creates or
 * updates the endpoint (`operation`), and waits until it is InService — polling, or deferred on
 * aws.SageMakerJobTrigger (job_type 'endpoint'). Returns `{ EndpointConfig: …, Endpoint: … }`.
 *
 * As in Airflow, 'create' on an endpoint that already exists switches to 'update'. An endpoint
 * this task instance already created or is updating to the same config is followed, not touched.
 */
import type { SageMakerClient, UpdateEndpointCommandInput } from '@aws-sdk/client-sagemaker';
import type { TaskContext } from '../../../dag/task-context.ts';
import { DagImportError } from '../../../errors/dag-import-error.ts';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import { InvalidInputError } from '../../../errors/invalid-input-error.ts';
import { SageMakerJobTrigger } from '../deferral/sagemaker-job-trigger.ts';
import { isAlreadyExists, isNotFound, toAwsError } from '../aws-errors.ts';
import type { FieldPath } from '../sagemaker/config-preprocess.ts';
import { describeEndpointConfig, ensureEndpointConfig, ensureModel } from '../sagemaker/hosting-resources.ts';
import { ENDPOINT, failsTask, failureReasonText, isTerminal, type Description } from '../sagemaker/resources.ts';
import { readOwnership, withOwnershipTags } from '../sagemaker/ownership.ts';
import { pollUntilTerminal } from '../sagemaker/poll.ts';
import { serializeDescribe } from '../sagemaker/serialize.ts';
import { SageMakerBaseOperator, type SageMakerBaseArgs } from './sagemaker-base-operator.ts';
import { DEFAULT_CHECK_INTERVAL_S } from './sagemaker-job-operator.ts';
import { secondsUntil } from '../deferral/resume-deadline.ts';
import { sageMakerSdk } from '../sdk.ts';

export interface SageMakerEndpointOperatorArgs extends SageMakerBaseArgs {
  wait_for_completion?: boolean;
  check_interval?: number;
  /** Seconds; Airflow's default is 10 hours. */
  max_ingestion_time?: number | null;
  operation?: 'create' | 'update';
  deferrable?: boolean;
}

/** The endpoint's statuses, from the SageMaker resource table. */
export const ENDPOINT_IN_PROGRESS = ENDPOINT.inProgress;
export const ENDPOINT_FAILED = ENDPOINT.failed;

export class SageMakerEndpointOperator extends SageMakerBaseOperator {
  constructor(args: SageMakerEndpointOperatorArgs) {
    super(args);
    const op = (args.operation ?? 'create').toLowerCase();
    if (op !== 'create' && op !== 'update') {
      throw new DagImportError('Invalid value! Argument operation has to be one of "create" and "update"', this.definedAt);
    }
  }

  get waitForCompletion(): boolean {
    return (this.args.wait_for_completion as boolean | undefined) ?? true;
  }
  get checkIntervalS(): number {
    return (this.args.check_interval as number | undefined) ?? DEFAULT_CHECK_INTERVAL_S;
  }
  get maxIngestionTimeS(): number {
    return (this.args.max_ingestion_time as number | null | undefined) || 3600 * 10;
  }
  get operation(): 'create' | 'update' {
    return String(this.args.operation ?? 'create').toLowerCase() as 'create' | 'update';
  }
  get deferrable(): boolean {
    return (this.args.deferrable as boolean | undefined) ?? false;
  }

  protected override integerFields(config: Record<string, unknown>): FieldPath[] {
    return 'EndpointConfig' in config ? [['EndpointConfig', 'ProductionVariants', 'InitialInstanceCount']] : [];
  }

  async execute(ctx: TaskContext): Promise<Record<string, unknown>> {
    const client = this.sagemaker(ctx);
    const config = this.preparedConfig();
    const ti = this.tiIdentity(ctx);
    const common = { client, ti, log: ctx.log, signal: ctx.signal };
    const model = asObject(config.Model);
    const endpointConfig = asObject(config.EndpointConfig);
    const endpoint = asObject(config.Endpoint) ?? config;
    const name = endpoint.EndpointName;
    if (typeof name !== 'string' || !name) throw new InvalidInputError(`${this.operatorName} '${this.taskId}': EndpointName is required`);
    if (model) await ensureModel(model, { ...common, check: true, action: null });
    if (endpointConfig) await ensureEndpointConfig(endpointConfig, common);
    await this.createOrUpdate(ctx, client, endpoint, name);

    if (this.deferrable) {
      const desc = await describeEndpoint(client, name, ctx.signal);
      const status = String(desc.EndpointStatus);
      if (status === 'InService') return this.result(client, desc, ctx.signal);
      if (failsTask(ENDPOINT, status)) throw endpointFailed(name, desc);
      ctx.log.info(`Endpoint ${name} is ${status}; deferring until it is InService`);
      this.deferOn(name, desc, this.maxIngestionTimeS);
    }
    if (this.waitForCompletion) {
      const desc = await pollUntilTerminal({
        what: `endpoint ${name}`,
        describe: (signal) => describeEndpoint(client, name, signal),
        status: (d) => String(d.EndpointStatus),
        isTerminal: (s) => isTerminal(ENDPOINT, s),
        checkIntervalMs: this.checkIntervalS * 1000,
        maxIngestionMs: this.maxIngestionTimeS * 1000,
        maxAttempts: null,
        signal: ctx.signal,
        log: ctx.log,
      });
      if (desc.EndpointStatus !== 'InService') throw endpointFailed(name, desc);
      return this.result(client, desc, ctx.signal);
    }
    return this.result(client, await describeEndpoint(client, name, ctx.signal), ctx.signal);
  }

  async execute_complete(ctx: TaskContext, kwargs: { job_name?: string; deadline?: string | null; event?: unknown } = {}): Promise<Record<string, unknown>> {
    const event = kwargs.event as { status?: string; job_name?: string; message?: string } | null | undefined;
    if (!event || typeof event !== 'object') throw new DeferflowError('TRIGGER_FAILED', 'Trigger error: event is None');
    const name = kwargs.job_name ?? event.job_name;
    if (!name) throw new DeferflowError('TRIGGER_FAILED', `Trigger event names no endpoint: ${JSON.stringify(event)}`);
    const client = this.sagemaker(ctx);
    const desc = await describeEndpoint(client, name, ctx.signal);
    const status = String(desc.EndpointStatus);
    if (!isTerminal(ENDPOINT, status)) {
      // The event is untrusted, the Describe is not: an endpoint still changing has not deployed.
      ctx.log.warn(`Resumed by an event saying ${JSON.stringify(event.status ?? null)}, but endpoint ${name} is ${status}; deferring again`);
      this.deferOn(name, desc, kwargs.deadline ? secondsUntil(kwargs.deadline) : null);
    }
    if (event.status !== 'success' || status !== 'InService') throw endpointFailed(name, desc, event.message);
    return this.result(client, desc, ctx.signal);
  }

  /** Defer on the endpoint's trigger for `timeoutS` seconds; the deadline travels in the resume kwargs (see the job operator). */
  private deferOn(name: string, desc: Description, timeoutS: number | null): never {
    const deadline = timeoutS === null ? null : new Date(Date.now() + timeoutS * 1000);
    const arn = desc[ENDPOINT.arnField];
    this.defer({
      trigger: new SageMakerJobTrigger({
        job_type: 'endpoint',
        job_name: name,
        ...(typeof arn === 'string' ? { job_arn: arn } : {}),
        aws_conn_id: this.awsConnId,
        region_name: this.regionName,
        poke_interval: this.checkIntervalS,
      }),
      method: 'execute_complete',
      kwargs: { job_name: name, deadline: deadline?.toISOString() ?? null },
      timeout: timeoutS,
    });
  }

  private async createOrUpdate(ctx: TaskContext, client: SageMakerClient, endpoint: Record<string, unknown>, name: string): Promise<void> {
    const ti = this.tiIdentity(ctx);
    const existing = await describeEndpointOrNull(client, name, ctx.signal);
    if (existing) {
      // Ours and already heading for this config (a retry after a crash): follow it.
      const sameConfig = existing.EndpointConfigName === endpoint.EndpointConfigName;
      if (sameConfig && String(existing.EndpointStatus) !== 'Failed') {
        const own = await readOwnership(client, existing.EndpointArn, ti, ctx.signal);
        if (own?.ours || this.operation === 'update') {
          ctx.log.info(
            `Endpoint ${name} already uses endpoint config ${String(endpoint.EndpointConfigName)} (${String(existing.EndpointStatus)}); not submitting again`,
          );
          return;
        }
      }
    }
    let operation = this.operation;
    if (operation === 'create') {
      ctx.log.info(`Creating SageMaker endpoint ${name}.`);
      const request = { ...endpoint };
      withOwnershipTags(request, ti);
      // Lease fencing (issue 14.0): a try that lost its lease must not create or update.
      await ctx.fence();
      try {
        await ENDPOINT.create(client, request, ctx.signal);
        return;
      } catch (e) {
        if (!isAlreadyExists(e)) throw toAwsError(e, `CreateEndpoint ${name}`);
        ctx.log.warn(`cannot create already existing endpoint ${name}, updating it with the given config instead`);
        if ('Tags' in endpoint) ctx.log.warn('Provided tags will be ignored in the update operation (tags on the existing endpoint will be unchanged)');
        operation = 'update';
      }
    }
    ctx.log.info(`Updating SageMaker endpoint ${name}.`);
    const { Tags: _tags, ...update } = endpoint;
    await ctx.fence();
    try {
      await client.send(new (sageMakerSdk().UpdateEndpointCommand)(update as unknown as UpdateEndpointCommandInput), { abortSignal: ctx.signal });
    } catch (e) {
      throw toAwsError(e, `UpdateEndpoint ${name}`);
    }
  }

  private async result(client: SageMakerClient, endpoint: Description, signal: AbortSignal): Promise<Record<string, unknown>> {
    const cfgName = String(endpoint.EndpointConfigName ?? '');
    return {
      EndpointConfig: serializeDescribe(cfgName ? await describeEndpointConfig(client, cfgName, signal) : {}),
      Endpoint: serializeDescribe(endpoint),
    };
  }
}

export function describeEndpoint(client: SageMakerClient, name: string, signal?: AbortSignal): Promise<Description> {
  return ENDPOINT.describe(client, name, signal);
}

async function describeEndpointOrNull(client: SageMakerClient, name: string, signal?: AbortSignal): Promise<Description | null> {
  try {
    return await describeEndpoint(client, name, signal);
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

function endpointFailed(name: string, desc: Description, message?: string): DeferflowError {
  const status = String(desc.EndpointStatus ?? 'unknown');
  const reason = failsTask(ENDPOINT, status) ? failureReasonText(ENDPOINT, desc) : (message ?? `trigger reported failure while the endpoint is ${status}`);
  return new DeferflowError('SAGEMAKER_JOB_FAILED', `SageMaker endpoint ${name} ${status === 'InService' ? 'failed' : `is ${status}`}: ${reason}`);
}

function asObject(v: unknown): Record<string, unknown> | null {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}
