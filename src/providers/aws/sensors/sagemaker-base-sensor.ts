/**
 * Airflow's SageMakerBaseSensor: waits for a job (or endpoint) someone else started. Poke mode
 * calls Describe every poke_interval until a terminal state or `timeout` (sensor timeout fails
 * without retries, like AirflowSensorTimeout). With `deferrable`, it waits on
 * aws.SageMakerJobTrigger instead and holds no worker slot; on resume it pokes once more (the
 * event is untrusted) and defers again while the resource is still changing.
 *
 * The in-progress and failed statuses come from the SageMaker resource table (a failed sensor
 * includes a stopped job, as Airflow's).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { BaseOperator } from '../../../dag/operator.ts';
import type { DAG } from '../../../dag/dag.ts';
import type { OperatorArgs } from '../../../dag/task-args.ts';
import type { TaskContext } from '../../../dag/task-context.ts';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import { TaskFailedNoRetry } from '../../../errors/task-errors.ts';
import { parseDuration, type Duration } from '../../../util/duration.ts';
import type { AwsClientFactory } from '../aws-clients.ts';
import { isTransient } from '../aws-errors.ts';
import { DEFAULT_AWS_CONN_ID } from '../aws-connection.ts';
import { secondsUntil } from '../deferral/resume-deadline.ts';
import { SageMakerJobTrigger } from '../deferral/sagemaker-job-trigger.ts';
import {
  failsTask,
  failureReasonText,
  SAGEMAKER_RESOURCES,
  type Description,
  type SageMakerResource,
  type SageMakerResourceType,
} from '../sagemaker/resources.ts';
import { requireAwsClients } from '../services.ts';

export interface SageMakerSensorArgs extends OperatorArgs {
  aws_conn_id?: string | null;
  region_name?: string | null;
  /** Seconds between pokes (Airflow's default 60). */
  poke_interval?: Duration;
  /** Give up after this long (Airflow's default: 7 days). */
  timeout?: Duration;
  /** 'poke' (default). 'reschedule' is accepted and runs as poke. */
  mode?: 'poke' | 'reschedule';
  deferrable?: boolean;
  dag?: DAG;
  upstream_task_ids?: string[];
}

export type SensorClients = Pick<AwsClientFactory, 'sagemaker' | 'logs'>;

export abstract class SageMakerBaseSensor extends BaseOperator {
  /** Which resource, for the trigger, the statuses and messages. */
  protected abstract readonly jobType: SageMakerResourceType;
  protected abstract readonly resourceType: string;

  protected get resource(): SageMakerResource {
    return SAGEMAKER_RESOURCES[this.jobType];
  }

  constructor(args: SageMakerSensorArgs) {
    super(args);
  }

  /** The name of the job / endpoint waited on (rendered template field). */
  protected abstract get resourceName(): string;

  protected describe(client: SageMakerClient, signal: AbortSignal): Promise<Description> {
    return this.resource.describe(client, this.resourceName, signal);
  }

  protected stateOf(desc: Description): string {
    return String(desc[this.resource.statusField]);
  }

  get awsConnId(): string | null {
    const v = this.args.aws_conn_id;
    return v === undefined ? DEFAULT_AWS_CONN_ID : v;
  }
  get regionName(): string | null {
    return this.args.region_name ?? null;
  }
  get pokeIntervalMs(): number {
    return parseDuration((this.args.poke_interval as Duration | undefined) ?? 60);
  }
  get timeoutMs(): number {
    return parseDuration((this.args.timeout as Duration | undefined) ?? 7 * 24 * 3600);
  }
  get deferrable(): boolean {
    return (this.args.deferrable as boolean | undefined) ?? false;
  }

  protected clients(ctx: TaskContext): SensorClients {
    return requireAwsClients(ctx.services, `${this.operatorName} '${this.taskId}'`);
  }

  /** One poke: true when done, false to wait, throws when the resource failed. */
  async poke(ctx: TaskContext): Promise<boolean> {
    return (await this.pokeDescribing(ctx)).done;
  }

  /** A poke that also returns what Describe said (the deferral needs the ARN). */
  private async pokeDescribing(ctx: TaskContext): Promise<{ done: boolean; desc: Description }> {
    const desc = await this.describe(this.clients(ctx).sagemaker(this.awsConnId, this.regionName), ctx.signal);
    await this.onPoke(ctx, desc);
    const state = this.stateOf(desc);
    ctx.log.info(`SageMaker ${this.resourceType} ${this.resourceName} is ${state}`);
    if (this.resource.inProgress.has(state)) return { done: false, desc };
    if (failsTask(this.resource, state)) {
      throw new DeferflowError(
        'SAGEMAKER_JOB_FAILED',
        `Sagemaker ${this.resourceType} failed for the following reason: ${failureReasonText(this.resource, desc)}`,
      );
    }
    return { done: true, desc };
  }

  /**
   * Defer on the resource's trigger for `timeoutS` seconds; the absolute deadline travels in the
   * resume kwargs, so deferring again (a resume too early) never extends it.
   */
  private deferOn(desc: Description, timeoutS: number): never {
    const deadline = new Date(Date.now() + timeoutS * 1000);
    const arn = desc[this.resource.arnField];
    this.defer({
      trigger: new SageMakerJobTrigger({
        job_type: this.jobType,
        job_name: this.resourceName,
        ...(typeof arn === 'string' ? { job_arn: arn } : {}),
        aws_conn_id: this.awsConnId,
        region_name: this.regionName,
      }),
      method: 'execute_complete',
      kwargs: { job_name: this.resourceName, deadline: deadline.toISOString() },
      timeout: timeoutS,
    });
  }

  /** Hook after each Describe (training: copy log lines). */
  protected async onPoke(_ctx: TaskContext, _desc: Description): Promise<void> {}

  async execute(ctx: TaskContext): Promise<void> {
    const started = Date.now();
    if (this.deferrable) {
      const first = await this.pokeDescribing(ctx);
      if (first.done) return;
      this.deferOn(first.desc, this.timeoutMs / 1000);
    }
    for (;;) {
      try {
        if (await this.poke(ctx)) return;
      } catch (e) {
        if (!isTransient(e) || ctx.signal.aborted) throw e;
        ctx.log.warn(`Poke failed transiently (${(e as Error).name}); poking again`);
      }
      if (Date.now() - started + this.pokeIntervalMs > this.timeoutMs) {
        throw new TaskFailedNoRetry(
          `Sensor has timed out; run duration of ${Math.round((Date.now() - started) / 1000)} seconds exceeds the specified timeout of ${this.timeoutMs / 1000}.`,
        );
      }
      await sleep(this.pokeIntervalMs, undefined, { signal: ctx.signal });
    }
  }

  async execute_complete(ctx: TaskContext, kwargs: { job_name?: string; deadline?: string; event?: unknown } = {}): Promise<void> {
    const event = kwargs.event as { status?: string; message?: string } | null | undefined;
    if (!event || typeof event !== 'object') throw new DeferflowError('TRIGGER_FAILED', 'Trigger error: event is None');
    const desc = await this.describe(this.clients(ctx).sagemaker(this.awsConnId, this.regionName), ctx.signal);
    const state = this.stateOf(desc);
    if (this.resource.inProgress.has(state)) {
      // The event is untrusted, the Describe is not: still changing means not done, whatever it said.
      ctx.log.warn(
        `Resumed by an event saying ${JSON.stringify(event.status ?? null)}, but SageMaker ${this.resourceType} ${this.resourceName} is ${state}; deferring again`,
      );
      this.deferOn(desc, kwargs.deadline ? secondsUntil(kwargs.deadline) : this.timeoutMs / 1000);
    }
    if (event.status !== 'success' || failsTask(this.resource, state)) {
      throw new DeferflowError(
        'SAGEMAKER_JOB_FAILED',
        `Sagemaker ${this.resourceType} failed for the following reason: ${failureReasonText(this.resource, desc)}`,
      );
    }
    ctx.log.info(event.message ?? `SageMaker ${this.resourceType} ${this.resourceName} is done`);
  }
}
