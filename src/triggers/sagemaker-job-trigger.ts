/**
 * `aws.SageMakerJobTrigger`: waits for a SageMaker training / transform / processing /
 * hyper-parameter tuning job to end, or an endpoint to become InService (or fail).
 *
 *   kwargs: {
 *     job_type: 'training' | 'transform' | 'processing' | 'tuning' | 'endpoint',
 *     job_name: string,                 // endpoint name for 'endpoint'
 *     aws_conn_id?: string | null,      // default 'aws_default'; null = SDK default chain
 *     region_name?: string | null,
 *     check_on_start?: boolean,         // default true: one Describe when the trigger starts
 *     poke_interval?, max_attempts?     // accepted for Airflow parity; nothing polls the job —
 *                                       // use the defer timeout for a deadline
 *     print_log?: {                     // copy the job's CloudWatch lines into the task log while
 *       log_group, cursor,              // deferred, every poke_interval seconds (default 30),
 *       task: { ti_id, dag_id, run_id, task_id, try_number }   // from `cursor` on
 *     }
 *   }
 *   payload (Airflow's SageMakerTrigger shape):
 *     { status: 'success' | 'failed' | 'stopped', job_name, message,
 *       log_cursor? }                   // with print_log: where the copy stopped
 *   A trigger timeout resumes the task into `__fail__` with error 'Trigger timeout'.
 *
 * Routing key: `sagemaker:<resource>:<lower-cased name>` (see events/sagemaker-job-types.ts).
 * Events arrive from the triggerer's shared sources (EventBridge → SQS); the watcher adds a
 * Describe at start and the reconcile sweep. Needs the `sagemakerWatcher` service (the triggerer
 * provides it) and, through it, `awsClients`.
 */
import { Observable, timer } from 'rxjs';
import { z } from 'zod';
import type { EventBridgeEvent } from '../events/eventbridge-event.ts';
import { parseSageMakerEvent, SAGEMAKER_JOB_TYPES, sageMakerKey, type SageMakerJobType, type SageMakerOutcome } from '../events/sagemaker-job-types.ts';
import type { SerializedTrigger, TriggerEvent } from './serialized-trigger.ts';
import { SAGEMAKER_WATCHER_SERVICE, type SageMakerWatcher } from './sagemaker-watcher.ts';
import { AWS_CLIENTS_SERVICE, type AwsClients } from './aws-clients.ts';
import type { TriggerKind, TriggerRunContext } from './trigger-kind.ts';
import { TASK_LOGS_SERVICE, type TaskLogRepository } from '../store/repositories/task-log-repository.ts';
import { DeferredLogCopy } from '../providers/aws/sagemaker/deferred-log-copy.ts';

export const SAGEMAKER_JOB_TRIGGER_KIND = 'aws.SageMakerJobTrigger';

export const sageMakerJobKwargsSchema = z.object({
  job_type: z.enum(SAGEMAKER_JOB_TYPES),
  job_name: z.string().min(1).max(63),
  aws_conn_id: z.string().nullable().optional(),
  region_name: z.string().nullable().optional(),
  check_on_start: z.boolean().optional(),
  poke_interval: z.number().optional(),
  max_attempts: z.number().optional(),
  print_log: z
    .object({
      log_group: z.string().min(1),
      cursor: z.record(z.string(), z.string()),
      task: z.object({ ti_id: z.string(), dag_id: z.string(), run_id: z.string(), task_id: z.string(), try_number: z.number().int() }),
    })
    .nullable()
    .optional(),
});
export type SageMakerJobKwargs = z.infer<typeof sageMakerJobKwargsSchema>;

export interface SageMakerJobPayload {
  status: SageMakerOutcome;
  job_name: string;
  message: string;
  /** print_log: CloudWatch stream → next forward token after the last line copied while deferred. */
  log_cursor?: Record<string, string>;
}

const NOUN: Record<SageMakerJobType, string> = {
  training: 'Training job',
  transform: 'Transform job',
  processing: 'Processing job',
  tuning: 'Hyper-parameter tuning job',
  endpoint: 'Endpoint',
};

export function sageMakerPayload(type: SageMakerJobType, name: string, outcome: SageMakerOutcome, status: string, reason: string | null): SageMakerJobPayload {
  const what = `${NOUN[type]} ${name}`;
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

/** The terminal payload of an event about this trigger's job; null when not terminal / not ours. */
export function sageMakerJobEvent(kw: SageMakerJobKwargs, event: EventBridgeEvent): TriggerEvent | null {
  const change = parseSageMakerEvent(event);
  if (!change || change.type !== kw.job_type || change.name.toLowerCase() !== kw.job_name.toLowerCase() || !change.outcome) return null;
  return { payload: sageMakerPayload(kw.job_type, kw.job_name, change.outcome, change.status, change.failureReason) };
}

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
      const watcher = ctx.service<SageMakerWatcher>(SAGEMAKER_WATCHER_SERVICE);
      const logCopy = kw.print_log ? startLogCopy(kw, ctx) : null;
      let firing = false;
      const events = ctx.eventsFor(sageMakerKey(kw.job_type, kw.job_name)).subscribe((e) => {
        // Non-terminal statuses (InProgress, Stopping, Updating…) never resume; the first terminal wins.
        const te = sageMakerJobEvent(kw, e);
        if (!te || sub.closed || firing) return;
        if (!logCopy) {
          sub.next(te);
          sub.complete();
          return;
        }
        // Resume only after the copy in flight landed, with the cursor after it: the resumed task
        // copies from there, so no line is stored twice.
        firing = true;
        // We emit after the copy lands: keep the event unacknowledged until the resume is stored.
        ctx.holdDelivery?.();
        void logCopy.finish().then((log_cursor) => {
          if (sub.closed) return;
          sub.next({ payload: { ...(te.payload as SageMakerJobPayload), log_cursor } });
          sub.complete();
        });
      });
      const watch = watcher
        .watch({
          jobType: kw.job_type,
          jobName: kw.job_name,
          connId: kw.aws_conn_id === undefined ? 'aws_default' : kw.aws_conn_id,
          region: kw.region_name ?? null,
          since: ctx.createdAt ?? new Date(),
          checkOnStart: kw.check_on_start ?? true,
        })
        .subscribe({ error: (e: unknown) => sub.error(e) });
      return () => {
        events.unsubscribe();
        watch.unsubscribe();
        logCopy?.stop();
      };
    }),
};

/** The print_log copy of a deferred job's log, or null when the triggerer cannot provide it. */
function startLogCopy(kw: SageMakerJobKwargs, ctx: TriggerRunContext): DeferredLogCopy | null {
  const pl = kw.print_log!;
  let repo: TaskLogRepository;
  let clients: AwsClients;
  try {
    repo = ctx.service<TaskLogRepository>(TASK_LOGS_SERVICE);
    clients = ctx.service<AwsClients>(AWS_CLIENTS_SERVICE);
  } catch (e) {
    ctx.logger.warn({ err: e }, `print_log: cannot copy the log of ${kw.job_name} while deferred; the resumed task copies it`);
    return null;
  }
  if (typeof clients.logs !== 'function') {
    ctx.logger.warn(`print_log: the awsClients service has no CloudWatch Logs client; the log of ${kw.job_name} is copied when the task resumes`);
    return null;
  }
  const connId = kw.aws_conn_id === undefined ? 'aws_default' : kw.aws_conn_id;
  return new DeferredLogCopy({
    logs: clients.logs(connId, kw.region_name ?? null),
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
