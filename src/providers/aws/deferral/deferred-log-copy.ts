/**
 * print_log while a task is deferred: the SageMaker job trigger, running in the triggerer, keeps
 * copying the job's CloudWatch lines into the task log of the current try, so `deferflow tasks
 * logs` and the UI show the job's progress while no worker holds the task.
 *
 * One poll per trigger every `intervalMs` (the operator's check_interval) — only for triggers that
 * asked for print_log; nothing polls otherwise. Lines are appended with
 * `TaskLogRepository.appendJoined` (ordered after everything the worker wrote before deferring),
 * together with the cursor after them, so:
 *   - `finish()` hands the cursor to the trigger's event payload and the resumed task copies only
 *     the lines after it;
 *   - a trigger adopted by another triggerer continues from the stored cursor instead of copying
 *     again.
 * A failing poll (throttling, MongoDB hiccup) is logged and retried at the next interval from the
 * same position; it never fails the trigger.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { Observable, Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { TaskLogRepository, TaskLogTarget } from '../../../store/repositories/task-log-repository.ts';
import { LogTailer, type LogCursor } from '../sagemaker/log-tailer.ts';

export interface DeferredLogCopyOptions {
  logs: CloudWatchLogsClient;
  repo: TaskLogRepository;
  logGroup: string;
  jobName: string;
  target: TaskLogTarget;
  /** Where the worker's copy stopped before deferring. */
  cursor: LogCursor;
  intervalMs: number;
  /** One-shot timer (the triggerer's timer heap). */
  at(moment: Date): Observable<unknown>;
  logger: Logger;
}

/** How long `finish` waits for a copy in flight before handing over the cursor it has. */
const FINISH_WAIT_MS = 10_000;

export class DeferredLogCopy {
  private tailer: LogTailer | null = null;
  private readonly ready: Promise<void>;
  private inflight: Promise<void> | null = null;
  private timer: Subscription | null = null;
  private stopped = false;
  private lastSeq = -1;
  private readonly abort = new AbortController();
  private readonly cursorKey: string;

  constructor(private readonly opts: DeferredLogCopyOptions) {
    this.cursorKey = `cloudwatch:${opts.logGroup}:${opts.jobName}`;
    this.ready = this.init();
  }

  /** Stop copying and return the cursor after the last stored line (the resume continues there). */
  async finish(): Promise<LogCursor> {
    this.halt();
    await this.ready;
    if (this.inflight) await Promise.race([this.inflight, new Promise((r) => setTimeout(r, FINISH_WAIT_MS).unref())]);
    return this.tailer!.position;
  }

  /** Stop copying (trigger cancelled / moved): in-flight AWS calls are aborted. */
  stop(): void {
    this.halt();
    this.abort.abort();
  }

  private halt(): void {
    this.stopped = true;
    this.timer?.unsubscribe();
    this.timer = null;
  }

  private async init(): Promise<void> {
    const { repo, target } = this.opts;
    let cursor = this.opts.cursor;
    try {
      // A copy that ran before this one (another triggerer, before adoption) stored its position.
      const stored = await repo.lastCursor(target.ti_id, target.try_number, this.cursorKey);
      if (stored) cursor = JSON.parse(stored) as LogCursor;
    } catch (e) {
      this.opts.logger.warn({ err: e }, 'Could not read the stored log cursor; continuing from the deferral cursor');
    }
    this.tailer = new LogTailer(this.opts.logs, this.opts.logGroup, this.opts.jobName, (lines, position) => this.store(lines, position), cursor);
    this.schedule();
  }

  private async store(lines: string[], position: LogCursor): Promise<void> {
    this.lastSeq = await this.opts.repo.appendJoined(
      this.opts.target,
      lines.map((msg) => ({ msg })),
      { after: this.lastSeq, cursor: { key: this.cursorKey, value: JSON.stringify(position) } },
    );
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.opts.at(new Date(Date.now() + this.opts.intervalMs)).subscribe(() => {
      this.timer = null;
      if (this.stopped) return;
      this.inflight = this.tailer!.poll(this.abort.signal)
        .then(
          () => undefined,
          (e: unknown) => {
            if (!this.stopped) this.opts.logger.warn({ err: e }, `Copying the log of ${this.opts.jobName} failed; retrying at the next interval`);
          },
        )
        .finally(() => {
          this.inflight = null;
          this.schedule();
        });
    });
  }
}
