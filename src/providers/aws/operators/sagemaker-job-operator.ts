/**
 * Shared lifecycle of the four job operators (Training, Processing, Transform, Tuning):
 *
 *   execute:  prepare config → Create under the rendered name (no existence probe: a taken name
 *             is SageMaker's answer to Create, and only then is action_if_job_exists applied,
 *             adopting a job this task instance already submitted) — each name recorded before its
 *             Create (XCom `sagemaker_job_name`, ownership tags) → then either
 *               sync:       poll Describe every check_interval (print_log copies CloudWatch lines)
 *               deferrable: defer at once on aws.SageMakerJobTrigger with the ARN Create answered
 *                           (the triggerer's start-up check catches a job that ends before the
 *                           trigger exists), the log cursor in next_kwargs and, with print_log, in
 *                           the trigger (which copies lines while deferred); an adopted job that
 *                           already ended returns (or fails) at once
 *             SageMaker calls of a deferred job: Create, at most one Describe when the trigger
 *             starts (skipped when the job's own events show it running after the deferral),
 *             and the Describe on resume — ≤ 3 whatever the job's length.
 *   execute_complete (resume): Describe the job — the event is untrusted, the Describe is not.
 *             Still running (a forged or misrouted event) → defer again on the same trigger until
 *             the original deadline; ended → succeed or fail by its own status (a failure event
 *             about a job that completed fails with the event's message, as Airflow does); copy the
 *             remaining log lines (from the trigger's cursor in the event, else the deferral's).
 *
 * The return value is Airflow's: `{ [label]: describe }` (Transform adds `Model`).
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { TaskContext } from '../../../dag/task-context.ts';
import { DagImportError } from '../../../errors/dag-import-error.ts';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import { InvalidInputError } from '../../../errors/invalid-input-error.ts';
import { SageMakerJobTrigger } from '../deferral/sagemaker-job-trigger.ts';
import { taskInstanceId } from '../../../store/schema.ts';
import type { TaskLogTarget } from '../../../store/repositories/task-log-repository.ts';
import { failsTask, failureReasonText, isTerminal, type Description, type SageMakerJobType, type SageMakerResource } from '../sagemaker/resources.ts';
import { stopJob } from '../sagemaker/stop-job.ts';
import { ACTIONS_IF_JOB_EXISTS, submitJob, type ActionIfJobExists, type Submission } from '../sagemaker/job-name-resolver.ts';
import { LogTailer, type LogCursor } from '../sagemaker/log-tailer.ts';
import { pollUntilTerminal } from '../sagemaker/poll.ts';
import { serializeDescribe } from '../sagemaker/serialize.ts';
import { secondsUntil } from '../deferral/resume-deadline.ts';
import { SageMakerBaseOperator, type SageMakerBaseArgs } from './sagemaker-base-operator.ts';

/** XCom key under which the submitted job's name is recorded before Create. */
export const JOB_NAME_XCOM_KEY = 'sagemaker_job_name';

/** Airflow's CHECK_INTERVAL_SECOND. */
export const DEFAULT_CHECK_INTERVAL_S = 30;

export interface SageMakerJobArgs extends SageMakerBaseArgs {
  /** Wait until the job ends (default true). */
  wait_for_completion?: boolean;
  /** Copy the job's CloudWatch log lines into the task log (default true). */
  print_log?: boolean;
  /** Seconds between Describe calls while waiting synchronously (default 30). */
  check_interval?: number;
  /** Give up waiting after this many checks (sync path; default: no limit but max_ingestion_time). */
  max_attempts?: number | null;
  /** Fail the task (without stopping the job) once it has run this many seconds; also the trigger timeout. */
  max_ingestion_time?: number | null;
  /** Look for an existing job of the same name before Create (default true). */
  check_if_job_exists?: boolean;
  /** What to do when the name is taken: 'timestamp' (default), 'increment', 'skip' or 'fail'. */
  action_if_job_exists?: ActionIfJobExists;
  /** Defer to the triggerer while the job runs instead of holding a worker slot (default false). */
  deferrable?: boolean;
}

interface ResumeKwargs {
  job_name?: string;
  log_cursor?: LogCursor;
  /** The first deferral's absolute trigger deadline (ISO), kept when deferring again. */
  deadline?: string | null;
  event?: unknown;
}

interface TriggerPayload {
  status?: string;
  job_name?: string;
  message?: string;
  log_cursor?: LogCursor;
}

export abstract class SageMakerJobOperator extends SageMakerBaseOperator {
  protected abstract readonly kind: SageMakerResource;

  constructor(args: SageMakerJobArgs) {
    super(args);
    const action = args.action_if_job_exists;
    if (action !== undefined && !(ACTIONS_IF_JOB_EXISTS as readonly string[]).includes(action)) {
      throw new DagImportError(
        `Argument action_if_job_exists accepts only ${ACTIONS_IF_JOB_EXISTS.map((a) => `'${a}'`).join(', ')}. Provided value: '${String(action)}'.`,
        this.definedAt,
      );
    }
  }

  // ---- arguments (lazy, so default_args apply) ----
  get waitForCompletion(): boolean {
    return (this.args.wait_for_completion as boolean | undefined) ?? true;
  }
  get printLog(): boolean {
    return (this.args.print_log as boolean | undefined) ?? true;
  }
  get checkIntervalS(): number {
    return (this.args.check_interval as number | undefined) ?? DEFAULT_CHECK_INTERVAL_S;
  }
  get maxAttempts(): number | null {
    return (this.args.max_attempts as number | null | undefined) ?? null;
  }
  get maxIngestionTimeS(): number | null {
    return (this.args.max_ingestion_time as number | null | undefined) ?? null;
  }
  get checkIfJobExists(): boolean {
    return (this.args.check_if_job_exists as boolean | undefined) ?? true;
  }
  get actionIfJobExists(): ActionIfJobExists {
    const a = (this.args.action_if_job_exists as ActionIfJobExists | undefined) ?? 'timestamp';
    if (!(ACTIONS_IF_JOB_EXISTS as readonly string[]).includes(a)) throw new InvalidInputError(`Invalid action_if_job_exists '${String(a)}'`);
    return a;
  }
  get deferrable(): boolean {
    return (this.args.deferrable as boolean | undefined) ?? false;
  }

  // ---- hooks for subclasses ----
  /** The part of the prepared config that is the Create request (Transform: config.Transform ?? config). */
  protected jobRequest(config: Record<string, unknown>): Record<string, unknown> {
    return config;
  }
  /** Runs before the name is decided (Transform creates its model here). */
  protected async beforeSubmit(_ctx: TaskContext, _client: SageMakerClient, _config: Record<string, unknown>): Promise<void> {}
  /** Airflow's return value. */
  protected async result(_ctx: TaskContext, _client: SageMakerClient, desc: Description): Promise<Record<string, unknown>> {
    return { [this.kind.label]: serializeDescribe(desc) };
  }
  /** Extra lines after a job completed (Training: billable seconds). */
  protected completionNote(_desc: Description): string | null {
    return null;
  }

  // ---- lifecycle ----
  async execute(ctx: TaskContext): Promise<Record<string, unknown>> {
    const client = this.sagemaker(ctx);
    const config = this.preparedConfig();
    const request = this.jobRequest(config);
    const baseName = request[this.kind.nameField];
    if (typeof baseName !== 'string' || !baseName) {
      throw new InvalidInputError(`${this.operatorName} '${this.taskId}': config.${this.kind.nameField} is required`);
    }
    await this.beforeSubmit(ctx, client, config);
    const submitted = await this.submit(ctx, client, request, baseName);
    const name = submitted.name;

    if (!this.waitForCompletion) {
      if (this.deferrable) ctx.log.warn('Setting deferrable to True does not have effect when wait_for_completion is set to False.');
      return this.result(ctx, client, submitted.existing ?? (await this.kind.describe(client, name, ctx.signal)));
    }
    const tailer = this.tailer(ctx, name, {});
    if (this.deferrable) {
      if (tailer) await tailer.poll(ctx.signal);
      const desc = submitted.existing;
      if (desc) {
        // An existing job (ours from an earlier try, or reused): it may have ended already.
        const status = String(desc[this.kind.statusField]);
        if (isTerminal(this.kind, status)) return this.finish(ctx, client, name, desc);
        ctx.log.info(`SageMaker ${this.what(name)} is ${status}; deferring until it ends`);
      } else {
        ctx.log.info(`SageMaker ${this.what(name)} submitted; deferring until it ends`);
      }
      this.deferOn(ctx, name, submitted.arn, tailer?.position ?? {}, this.maxIngestionTimeS);
    }
    const desc = await pollUntilTerminal({
      what: this.what(name),
      describe: (signal) => this.kind.describe(client, name, signal),
      status: (d) => String(d[this.kind.statusField]),
      isTerminal: (s) => isTerminal(this.kind, s),
      checkIntervalMs: this.checkIntervalS * 1000,
      maxIngestionMs: this.maxIngestionTimeS === null ? null : this.maxIngestionTimeS * 1000,
      maxAttempts: this.maxAttempts,
      signal: ctx.signal,
      log: ctx.log,
      onPoll: tailer ? async () => void (await tailer.poll(ctx.signal)) : undefined,
    });
    return this.finish(ctx, client, name, desc);
  }

  /** Resume method named in the deferral. */
  async execute_complete(ctx: TaskContext, kwargs: ResumeKwargs = {}): Promise<Record<string, unknown>> {
    const event = kwargs.event;
    if (!event || typeof event !== 'object') {
      throw new DeferflowError('TRIGGER_FAILED', 'Trigger error: event is None');
    }
    const payload = event as TriggerPayload;
    // The deferral's own name: the event's is untrusted (it only has to agree with it).
    const name = kwargs.job_name ?? payload.job_name;
    if (!name) throw new DeferflowError('TRIGGER_FAILED', `Trigger event names no job: ${JSON.stringify(event)}`);
    const client = this.sagemaker(ctx);
    const desc = await this.kind.describe(client, name, ctx.signal);
    // Lines copied before deferring (worker) and while deferred (triggerer) are skipped: the
    // trigger's cursor, else the one stored at deferral, says where the last copy stopped.
    const cursor = payload.log_cursor ?? kwargs.log_cursor ?? {};
    const tailer = this.tailer(ctx, name, cursor);
    if (tailer) await tailer.poll(ctx.signal);
    const status = String(desc[this.kind.statusField]);
    if (!isTerminal(this.kind, status)) {
      // Whatever the event said, the job has not ended: never a success (nor a failure) from it.
      ctx.log.warn(`Resumed by an event saying ${JSON.stringify(payload.status ?? null)}, but SageMaker ${this.what(name)} is ${status}; deferring again`);
      const arn = desc[this.kind.arnField];
      this.deferOn(ctx, name, typeof arn === 'string' ? arn : null, tailer?.position ?? cursor, kwargs.deadline ? secondsUntil(kwargs.deadline) : null);
    }
    if (payload.status !== 'success' && !failsTask(this.kind, status)) {
      throw this.jobFailed(name, desc, payload.message);
    }
    if (payload.status === 'success' && payload.message) ctx.log.info(payload.message);
    return this.finish(ctx, client, name, desc);
  }

  // ---- internals ----
  /** Create under the name action_if_job_exists decides (each name recorded first); the job this task now follows. */
  private async submit(ctx: TaskContext, client: SageMakerClient, request: Record<string, unknown>, baseName: string): Promise<Submission> {
    const ti = await this.ownerIdentity(ctx);
    const submitted = await submitJob({
      kind: this.kind,
      client,
      request,
      baseName,
      action: this.actionIfJobExists,
      checkIfJobExists: this.checkIfJobExists,
      ti,
      log: ctx.log,
      signal: ctx.signal,
      // Recorded before Create: whoever picks this task up next knows which job it submitted.
      beforeCreate: async (name) => {
        await ctx.ti.xcom_push(JOB_NAME_XCOM_KEY, name);
        ctx.log.info(`Creating SageMaker ${this.what(name)}`);
        // Lease fencing (issue 14.0): a try paused past its lease (and retried elsewhere meanwhile)
        // must not submit; checked right before each Create and again right after the one that succeeded.
        await ctx.fence();
      },
    });
    if (submitted.existing) await ctx.ti.xcom_push(JOB_NAME_XCOM_KEY, submitted.name);
    else await this.fenceSubmitted(ctx, client, submitted.name);
    return submitted;
  }

  /**
   * The try paused between its fence and Create may have lost its lease meanwhile: then the job
   * it just submitted runs beside the live try's — stop it, and let the LeaseLost end this try.
   */
  private async fenceSubmitted(ctx: TaskContext, client: SageMakerClient, name: string): Promise<void> {
    try {
      await ctx.fence();
    } catch (e) {
      // By name: the worker's LeaseLost (a failed renewal for another reason is not a lost lease).
      if (!(e instanceof Error && e.name === 'LeaseLost')) throw e;
      ctx.log.warn(`This try lost its lease while submitting SageMaker ${this.what(name)}; stopping that job (the live try has its own)`);
      await stopJob(client, this.kind.type as SageMakerJobType, name).catch((stopErr: unknown) =>
        ctx.log.error({ err: stopErr }, `Could not stop SageMaker ${this.what(name)} submitted by a try that lost its lease`),
      );
      throw e;
    }
  }

  /**
   * Defer on the job's trigger for `timeoutS` seconds (null: no timeout); the absolute deadline
   * travels in the resume kwargs, so deferring again (a resume too early) never extends it.
   */
  private deferOn(ctx: TaskContext, name: string, arn: string | null, cursor: LogCursor, timeoutS: number | null): never {
    const deadline = timeoutS === null ? null : new Date(Date.now() + timeoutS * 1000);
    const printLog = this.printLog && this.kind.logGroup;
    this.defer({
      trigger: new SageMakerJobTrigger({
        job_type: this.kind.type,
        job_name: name,
        // Where the job lives: events from another region or account are not about it.
        ...(arn ? { job_arn: arn } : {}),
        aws_conn_id: this.awsConnId,
        region_name: this.regionName,
        poke_interval: this.checkIntervalS,
        ...(this.maxAttempts !== null ? { max_attempts: this.maxAttempts } : {}),
        // The triggerer keeps copying the job's log into this try's log while it waits.
        ...(printLog ? { print_log: { log_group: this.kind.logGroup!, cursor, task: this.logTarget(ctx) } } : {}),
        // …and writes each status change of the job there (progress while deferred).
        task_log: this.logTarget(ctx),
      }),
      method: 'execute_complete',
      kwargs: { job_name: name, log_cursor: cursor, deadline: deadline?.toISOString() ?? null },
      timeout: timeoutS,
    });
  }

  private async finish(ctx: TaskContext, client: SageMakerClient, name: string, desc: Description): Promise<Record<string, unknown>> {
    const status = String(desc[this.kind.statusField]);
    if (failsTask(this.kind, status)) throw this.jobFailed(name, desc);
    const note = this.completionNote(desc);
    if (note) ctx.log.info(note);
    ctx.log.info(`${this.taskId} completed successfully.`);
    return this.result(ctx, client, desc);
  }

  private jobFailed(name: string, desc: Description, message?: string): DeferflowError {
    const status = String(desc[this.kind.statusField] ?? 'unknown');
    const reason = failsTask(this.kind, status) ? failureReasonText(this.kind, desc) : (message ?? `trigger reported failure while the job is ${status}`);
    return new DeferflowError('SAGEMAKER_JOB_FAILED', `SageMaker ${this.what(name)} ${status === 'Stopped' ? 'was stopped' : 'failed'} because ${reason}`);
  }

  private tailer(ctx: TaskContext, name: string, cursor: LogCursor): LogTailer | null {
    if (!this.printLog || !this.kind.logGroup) return null;
    return new LogTailer(this.clients(ctx).logs(this.awsConnId, this.regionName), this.kind.logGroup, name, ctx.log, cursor);
  }

  /** The task log the triggerer appends to while this try is deferred. */
  private logTarget(ctx: TaskContext): TaskLogTarget {
    const ti = this.tiIdentity(ctx);
    return {
      ti_id: taskInstanceId(ti.dag_id, ti.run_id, ti.task_id, ti.map_index),
      dag_id: ti.dag_id,
      run_id: ti.run_id,
      task_id: ti.task_id,
      try_number: ti.try_number,
    };
  }

  protected what(name: string): string {
    return `${this.kind.noun} ${name}`;
  }
}
