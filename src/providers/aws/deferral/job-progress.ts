/**
 * Progress while deferred: a SageMaker job trigger reports each status / secondary-status change
 * it sees (state-change events, and the sweep's and start-up check's findings, which arrive as
 * synthetic events) — a line in the deferred try's task log (`tasks logs --follow` and the UI show
 * Starting → Downloading → Training → Uploading → Completed while no worker holds the task), and
 * the trigger row's last_status / last_secondary_status / last_status_message / last_event_at
 * (the API's deferrals view). No SageMaker call of its own: only what the triggerer already sees.
 *
 * Events arrive at least once and out of order: a change is reported only when it differs from
 * the last one reported and is not older than it. Writes are chained, so lines keep their order.
 */
import type { Logger } from 'pino';
import type { TaskLogRepository, TaskLogTarget } from '../../../store/repositories/task-log-repository.ts';
import type { TriggerStatusReport } from '../../../triggers/trigger-kind.ts';
import type { SageMakerStateChange } from './sagemaker-events.ts';

export interface JobProgressOptions {
  /** "Training job my-job" — what the lines are about. */
  what: string;
  /** The deferred try's log (null: only the trigger row is updated). */
  target: TaskLogTarget | null;
  logs: TaskLogRepository | null;
  /** The triggerer's report to the trigger row (absent outside a triggerer). */
  report?: (s: TriggerStatusReport) => void;
  /** Made only when needed (a triggerer holds 100k of these). */
  logger: () => Logger;
}

/** How long a terminal line may hold the resume back (a slow task-log write must not stall it). */
const FLUSH_WAIT_MS = 2_000;

export class JobProgress {
  private last: { key: string; at: number } | null = null;
  private lastSeq = -1;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: JobProgressOptions) {}

  /** Whether changes become task-log lines (else only the trigger row hears of them). */
  get writesLog(): boolean {
    return this.o.target !== null && this.o.logs !== null;
  }

  /** Report a change if it is new; resolves when its log line is stored (or failed, or took too long). */
  note(change: SageMakerStateChange): Promise<void> {
    const at = change.time ?? new Date();
    const key = `${change.status}|${change.secondaryStatus ?? ''}`;
    if (this.last && (this.last.key === key || at.getTime() < this.last.at)) return Promise.resolve();
    this.last = { key, at: at.getTime() };
    this.o.report?.({ status: change.status, secondaryStatus: change.secondaryStatus, message: change.statusMessage, at });
    const { target, logs } = this.o;
    if (!target || !logs) return Promise.resolve();
    const line = `${this.o.what}: ${change.status}${change.secondaryStatus && change.secondaryStatus !== change.status ? ` (${change.secondaryStatus})` : ''}${change.statusMessage ? ` — ${change.statusMessage}` : ''}`;
    const written = this.chain.then(async () => {
      try {
        this.lastSeq = await logs.appendJoined(target, [{ msg: line, ts: at }], { after: this.lastSeq });
      } catch (e) {
        this.o.logger().warn({ err: e }, 'Could not append a job status line to the task log');
      }
    });
    this.chain = written;
    return Promise.race([written, new Promise<void>((r) => setTimeout(r, FLUSH_WAIT_MS).unref())]);
  }
}
