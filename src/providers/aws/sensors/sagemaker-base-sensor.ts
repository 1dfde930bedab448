/**
 * Airflow's SageMakerBaseSensor: waits for a job (or endpoint) someone else started. Poke mode
 * calls Describe every poke_interval until a terminal state or `timeout` (sensor timeout fails
 * without retries, like AirflowSensorTimeout). With `deferrable`, it waits on
 * aws.SageMakerJobTrigger instead and holds no worker slot.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { BaseOperator } from '../../../dag/operator.ts';
import type { DAG } from '../../../dag/dag.ts';
import type { OperatorArgs } from '../../../dag/task-args.ts';
import type { TaskContext } from '../../../dag/task-context.ts';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import { TaskFailedNoRetry } from '../../../errors/task-errors.ts';
import type { SageMakerJobType } from '../../../events/sagemaker-job-types.ts';
import { SageMakerJobTrigger } from '../../../triggers/sagemaker-job-trigger.ts';
import { parseDuration, type Duration } from '../../../util/duration.ts';
import type { AwsClientFactory } from '../aws-clients.ts';
import { isTransient } from '../aws-errors.ts';
import { DEFAULT_AWS_CONN_ID } from '../aws-connection.ts';
import { defaultAwsClientFactory } from '../default-clients.ts';
import { failureReason, type JobDescription } from '../sagemaker/job-kinds.ts';

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
  /** Which resource, for the trigger and messages. */
  protected abstract readonly jobType: SageMakerJobType;
  protected abstract readonly resourceType: string;
  protected abstract readonly nonTerminalStates: ReadonlySet<string>;
  protected abstract readonly failedStates: ReadonlySet<string>;

  constructor(args: SageMakerSensorArgs) {
    super(args);
  }

  /** The name of the job / endpoint waited on (rendered template field). */
  protected abstract get resourceName(): string;
  protected abstract describe(client: SageMakerClient, signal: AbortSignal): Promise<JobDescription>;
  protected abstract stateOf(desc: JobDescription): string;

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
    const provided = (ctx as { services?: Record<string, unknown> }).services?.awsClients;
    if (provided && typeof (provided as SensorClients).sagemaker === 'function') return provided as SensorClients;
    return defaultAwsClientFactory();
  }

  /** One poke: true when done, false to wait, throws when the resource failed. */
  async poke(ctx: TaskContext): Promise<boolean> {
    const desc = await this.describe(this.clients(ctx).sagemaker(this.awsConnId, this.regionName), ctx.signal);
    await this.onPoke(ctx, desc);
    const state = this.stateOf(desc);
    ctx.log.info(`SageMaker ${this.resourceType} ${this.resourceName} is ${state}`);
    if (this.nonTerminalStates.has(state)) return false;
    if (this.failedStates.has(state)) {
      throw new DeferflowError('SAGEMAKER_JOB_FAILED', `Sagemaker ${this.resourceType} failed for the following reason: ${failureReason(desc)}`);
    }
    return true;
  }

  /** Hook after each Describe (training: copy log lines). */
  protected async onPoke(_ctx: TaskContext, _desc: JobDescription): Promise<void> {}

  async execute(ctx: TaskContext): Promise<void> {
    const started = Date.now();
    if (this.deferrable) {
      if (await this.poke(ctx)) return;
      this.defer({
        trigger: new SageMakerJobTrigger({ job_type: this.jobType, job_name: this.resourceName, aws_conn_id: this.awsConnId, region_name: this.regionName }),
        method: 'execute_complete',
        kwargs: { job_name: this.resourceName },
        timeout: this.timeoutMs / 1000,
      });
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

  async execute_complete(ctx: TaskContext, kwargs: { job_name?: string; event?: unknown } = {}): Promise<void> {
    const event = kwargs.event as { status?: string; message?: string } | null | undefined;
    if (!event || typeof event !== 'object') throw new DeferflowError('TRIGGER_FAILED', 'Trigger error: event is None');
    if (event.status !== 'success') {
      const desc = await this.describe(this.clients(ctx).sagemaker(this.awsConnId, this.regionName), ctx.signal);
      throw new DeferflowError('SAGEMAKER_JOB_FAILED', `Sagemaker ${this.resourceType} failed for the following reason: ${failureReason(desc)}`);
    }
    ctx.log.info(event.message ?? `SageMaker ${this.resourceType} ${this.resourceName} is done`);
  }
}
