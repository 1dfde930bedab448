/**
 * `aws.SageMakerJobTrigger`: waits for a SageMaker training / transform / processing /
 * hyper-parameter tuning job to end, or an endpoint to become InService (or fail).
 *
 *   kwargs: {
 *     job_type: 'training' | 'transform' | 'processing' | 'tuning' | 'endpoint',
 *     job_name: string,                 // endpoint name for 'endpoint'
 *     job_arn?: string,                 // the resource's ARN (from the Describe before deferring):
 *                                       // only events from its region and account count
 *     aws_conn_id?: string | null,      // default 'aws_default'; null = SDK default chain
 *     region_name?: string | null,
 *     check_on_start?: boolean,         // default true: one Describe when the trigger starts
 *     poke_interval?, max_attempts?     // accepted for Airflow parity; nothing polls the job —
 *                                       // use the defer timeout for a deadline
 *     print_log?: {                     // copy the job's CloudWatch lines into the task log while
 *       log_group, cursor,              // deferred, every poke_interval seconds (default 30),
 *       task: { ti_id, dag_id, run_id, task_id, try_number }   // from `cursor` on
 *     },
 *     task_log?: { ti_id, dag_id, run_id, task_id, try_number }  // the deferred try's log: each status
 *                                       // change seen while deferred is a line there (else print_log's)
 *   }
 *   payload (Airflow's SageMakerTrigger shape):
 *     { status: 'success' | 'failed' | 'stopped', job_name, message,
 *       log_cursor? }                   // with print_log: where the copy stopped
 *   A trigger timeout resumes the task into `__fail__` with error 'Trigger timeout'.
 *
 * Outcomes come from the SageMaker resource table (sagemaker/resources.ts): an endpoint that goes
 * OutOfService or UpdateRollbackFailed fails the task as Failed does. Events are untrusted: only
 * one about this job's name, type, and — with `job_arn` — region and account resolves it.
 *
 * Routing key: `sagemaker:<resource>:<lower-cased name>` (sagemaker-events.ts). Events arrive
 * from the triggerer's shared sources (EventBridge → SQS); the watcher adds a start-up Describe
 * (skipped once the job's own events show it running after the trigger started) and the reconcile
 * sweep. Needs the `sagemakerWatcher` service (the triggerer's SageMaker reconciler).
 *
 * Progress while deferred (job-progress.ts): every status / secondary-status change it sees goes
 * into the deferred try's log and onto the trigger row (last_status …); the terminal one is stored
 * before the task resumes, so the log reads in order.
 */
import { Observable, Subject, timer } from 'rxjs';
import { z } from 'zod';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import type { EventBridgeEvent } from '../../../events/eventbridge-event.ts';
import type { SerializedTrigger, TriggerEvent } from '../../../triggers/serialized-trigger.ts';
import type { TriggerKind, TriggerRunContext } from '../../../triggers/trigger-kind.ts';
import { parseSageMakerArn, SAGEMAKER_RESOURCE_TYPES, SAGEMAKER_RESOURCES, type SageMakerOutcome, type SageMakerResourceType } from '../sagemaker/resources.ts';
import { DEFAULT_AWS_CONN_ID } from '../aws-connection.ts';
import { DeferredLogCopy } from './deferred-log-copy.ts';
import { JobProgress } from './job-progress.ts';
import { parseSageMakerEvent, sageMakerKey, type SageMakerStateChange } from './sagemaker-events.ts';

export const SAGEMAKER_JOB_TRIGGER_KIND = 'aws.SageMakerJobTrigger';

const taskTarget = z.object({ ti_id: z.string(), dag_id: z.string(), run_id: z.string(), task_id: z.string(), try_number: z.number().int() });

export const sageMakerJobKwargsSchema = z.object({
  job_type: z.enum(SAGEMAKER_RESOURCE_TYPES),
  job_name: z.string().min(1).max(63),
  job_arn: z
    .string()
    .refine((a) => parseSageMakerArn(a) !== null, { message: 'job_arn must be a SageMaker resource ARN' })
    .optional(),
  aws_conn_id: z.string().nullable().optional(),
  region_name: z.string().nullable().optional(),
  check_on_start: z.boolean().optional(),
  poke_interval: z.number().optional(),
  max_attempts: z.number().optional(),
  print_log: z
    .object({
      log_group: z.string().min(1),
      cursor: z.record(z.string(), z.string()),
      task: taskTarget,
    })
    .nullable()
    .optional(),
  task_log: taskTarget.nullable().optional(),
});
export type SageMakerJobKwargs = z.infer<typeof sageMakerJobKwargsSchema>;

export interface SageMakerJobPayload {
  status: SageMakerOutcome;
  job_name: string;
  message: string;
  /** print_log: CloudWatch stream → next forward token after the last line copied while deferred. */
  log_cursor?: Record<string, string>;
}

export function sageMakerPayload(
  type: SageMakerResourceType,
  name: string,
  outcome: SageMakerOutcome,
  status: string,
  reason: string | null,
): SageMakerJobPayload {
  const noun = SAGEMAKER_RESOURCES[type].noun;
  const what = `${noun.charAt(0).toUpperCase()}${noun.slice(1)} ${name}`;
  const message =
    outcome === 'success'
      ? type === 'endpoint'
        ? `${what} is InService`
        : `${what} completed`
      : outcome === 'stopped'
        ? `${what} was stopped`
        : `${what} ended ${status}${reason ? `: ${reason}` : ''}`;
  return { status: outcome, job_name: name, message };
}

/**
 * Whether a state change is about THIS trigger's resource: same type and name, and — when the
 * trigger knows its resource's ARN, or at least its region — the same region and account. A
 * same-named job in another account or region is someone else's.
 */
export function isAboutTrigger(kw: SageMakerJobKwargs, change: SageMakerStateChange): boolean {
  if (change.type !== kw.job_type || change.name.toLowerCase() !== kw.job_name.toLowerCase()) return false;
  const arn = parseSageMakerArn(kw.job_arn);
  const region = arn?.region ?? kw.region_name ?? null;
  if (region && change.region !== region) return false;
  if (arn && change.account !== arn.account) return false;
  return true;
}

/** The terminal payload of an event about this trigger's resource; null when not terminal / not ours. */
export function sageMakerJobEvent(kw: SageMakerJobKwargs, event: EventBridgeEvent): TriggerEvent | null {
  const change = parseSageMakerEvent(event);
  if (!change?.outcome || !isAboutTrigger(kw, change)) return null;
  return { payload: sageMakerPayload(kw.job_type, kw.job_name, change.outcome, change.status, change.failureReason) };
}

const connIdOf = (kw: SageMakerJobKwargs): string | null => (kw.aws_conn_id === undefined ? DEFAULT_AWS_CONN_ID : kw.aws_conn_id);

/**
 * A status event dated this long after the trigger's creation proves the job was still running
 * once the trigger existed. Event times have whole seconds, and clocks differ a little.
 */
const SEEN_RUNNING_MARGIN_MS = 2_000;

export const sageMakerJobTriggerKind: TriggerKind<SageMakerJobKwargs> = {
  kind: SAGEMAKER_JOB_TRIGGER_KIND,
  schema: sageMakerJobKwargsSchema,
  routingKeys: (kw) => [sageMakerKey(kw.job_type, kw.job_name)],
  fromEvent: sageMakerJobEvent,
  describe: (kw) => `SageMaker ${kw.job_type} ${kw.job_name}`,
  run: (kw, ctx) =>
    // One hand-written Observable instead of merge/map/filter/take: a triggerer holds 100k of
    // these, and each operator layer costs a subscriber object per trigger.
    new Observable<TriggerEvent>((sub) => {
      const watcher = ctx.services.sagemakerWatcher;
      if (!watcher) {
        sub.error(
          new DeferflowError('CONFIG_ERROR', 'This triggerer runs no SageMaker watcher', {
            hint: 'Assemble the triggerer with the AWS deferral provider (awsDeferralProvider), as Runtime and `deferflow triggerer` do.',
          }),
        );
        return;
      }
      const logCopy = kw.print_log ? startLogCopy(kw, ctx) : null;
      const progress = jobProgress(kw, ctx);
      const seenRunning = new Subject<void>();
      const startedAt = (ctx.createdAt ?? new Date()).getTime();
      let firing = false;
      const events = ctx.deliveriesFor(sageMakerKey(kw.job_type, kw.job_name)).subscribe(({ event, delivery }) => {
        const change = parseSageMakerEvent(event);
        if (!change || !isAboutTrigger(kw, change) || sub.closed || firing) return;
        const progressStored = progress.note(change);
        if (!change.outcome) {
          // Non-terminal statuses (InProgress, Stopping, Updating…) never resume; one dated after
          // the trigger existed means the job's end will be an event that finds it.
          if (change.time && change.time.getTime() >= startedAt + SEEN_RUNNING_MARGIN_MS) seenRunning.next();
          return;
        }
        // The first terminal status wins. Resume once its status line (and, with print_log, the
        // copy in flight) is stored, so the task log reads in order; the event stays unacknowledged
        // until then.
        const te: TriggerEvent = { payload: sageMakerPayload(kw.job_type, kw.job_name, change.outcome, change.status, change.failureReason) };
        if (!logCopy && !progress.writesLog) {
          sub.next(te);
          sub.complete();
          return;
        }
        firing = true;
        delivery.hold();
        void Promise.all([progressStored, logCopy ? logCopy.finish() : Promise.resolve(undefined)]).then(([, log_cursor]) => {
          if (sub.closed) return;
          sub.next(log_cursor ? { payload: { ...(te.payload as SageMakerJobPayload), log_cursor } } : te);
          sub.complete();
        });
      });
      const watch = watcher
        .watch({
          jobType: kw.job_type,
          jobName: kw.job_name,
          connId: connIdOf(kw),
          region: kw.region_name ?? null,
          since: ctx.createdAt ?? new Date(),
          checkOnStart: kw.check_on_start ?? true,
          seenRunning$: seenRunning,
        })
        .subscribe({ error: (e: unknown) => sub.error(e) });
      return () => {
        events.unsubscribe();
        watch.unsubscribe();
        seenRunning.complete();
        logCopy?.stop();
      };
    }),
};

/** Status lines into the deferred try's log (task_log, else print_log's target) and onto the trigger row. */
function jobProgress(kw: SageMakerJobKwargs, ctx: TriggerRunContext): JobProgress {
  const noun = SAGEMAKER_RESOURCES[kw.job_type].noun;
  return new JobProgress({
    what: `${noun.charAt(0).toUpperCase()}${noun.slice(1)} ${kw.job_name}`,
    target: kw.task_log ?? kw.print_log?.task ?? null,
    logs: ctx.services.taskLogs ?? null,
    report: ctx.reportStatus ? (s) => ctx.reportStatus!(s) : undefined,
    logger: () => ctx.logger,
  });
}

/** The print_log copy of a deferred job's log, or null when the triggerer cannot provide it. */
function startLogCopy(kw: SageMakerJobKwargs, ctx: TriggerRunContext): DeferredLogCopy | null {
  const pl = kw.print_log!;
  const repo = ctx.services.taskLogs;
  const clients = ctx.services.awsClients;
  if (!repo || !clients) {
    ctx.logger.warn(`print_log: this triggerer has no ${repo ? 'AWS clients' : 'task-log writer'}; the log of ${kw.job_name} is copied when the task resumes`);
    return null;
  }
  return new DeferredLogCopy({
    logs: clients.logs(connIdOf(kw), kw.region_name ?? null),
    repo,
    logGroup: pl.log_group,
    jobName: kw.job_name,
    target: pl.task,
    cursor: pl.cursor,
    intervalMs: Math.max(50, (kw.poke_interval ?? 30) * 1000),
    at: (moment) => (ctx.at ? ctx.at(moment) : timer(moment)),
    logger: ctx.logger,
  });
}

/** Convenience for operators: `this.defer({ trigger: new SageMakerJobTrigger({...}), … })`. */
export class SageMakerJobTrigger {
  constructor(readonly kwargs: SageMakerJobKwargs) {
    sageMakerJobKwargsSchema.parse(kwargs);
  }

  serialize(): SerializedTrigger {
    return { kind: SAGEMAKER_JOB_TRIGGER_KIND, kwargs: { ...this.kwargs } };
  }
}
