/**
 * The log of one task try. `sink.logger` is a pino logger (bindings dag_id, run_id, task_id,
 * try_number) whose every line is masked, then written, batched, to the task_logs collection so
 * `deferflow tasks logs` and the UI can read it from any machine. Lines are flushed every
 * `flushIntervalMs`, when a batch fills up, and at `close()` (try end).
 *
 * The task log is where a task's lines live. The process console gets each of them at most once:
 * warnings and errors at their level (an operator watching a worker must see a task failing), the
 * rest only when the process logs at debug.
 */
import { pino, type Logger } from 'pino';
import type { TaskLogDoc } from '../store/schema.ts';
import type { TaskLogRepository } from '../store/repositories/task-log-repository.ts';
import { maskSecrets } from './secret-masker.ts';

export interface TaskLogSinkOptions {
  /** Where lines go: the repository, or a writer that batches several tries' lines (the worker's). */
  repo: Pick<TaskLogRepository, 'append'>;
  /** Process logger; task warnings and errors (everything at debug) are echoed to a child of it. */
  parent: Logger;
  ti: { _id: string; dag_id: string; run_id: string; task_id: string };
  tryNumber: number;
  /** Last seq already stored for this try (a resumed try continues after it); default -1. */
  lastSeq?: number;
  flushIntervalMs?: number;
  maxBatch?: number;
}

type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const STANDARD_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err', 'dag_id', 'run_id', 'task_id', 'try_number']);

export class TaskLogSink {
  readonly logger: Logger;
  private readonly echo: Logger;
  private buffer: TaskLogDoc[] = [];
  private seq: number;
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly maxBatch: number;

  constructor(private readonly opts: TaskLogSinkOptions) {
    this.seq = opts.lastSeq ?? -1;
    this.maxBatch = opts.maxBatch ?? 500;
    const bindings = { dag_id: opts.ti.dag_id, run_id: opts.ti.run_id, task_id: opts.ti.task_id, try_number: opts.tryNumber };
    this.echo = opts.parent.child(bindings);
    // Stored lines are at least `info` even when the process log is quieter (tests run silent).
    const parentLevel = opts.parent.levelVal;
    const level = Number.isFinite(parentLevel) && parentLevel < 30 ? opts.parent.level : 'info';
    this.logger = pino({ level, base: bindings }, { write: (line: string) => this.onLine(line) });
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  private onLine(line: string): void {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      rec = { level: 30, time: Date.now(), msg: line };
    }
    const levelName = (pino.levels.labels[Number(rec.level)] ?? 'info') as LevelName;
    let msg = typeof rec.msg === 'string' ? rec.msg : '';
    const extras = Object.entries(rec).filter(([k]) => !STANDARD_KEYS.has(k));
    if (extras.length) msg += ` ${JSON.stringify(Object.fromEntries(extras))}`;
    const err = rec.err as { stack?: string; message?: string } | undefined;
    if (err) msg += `\n${err.stack ?? err.message ?? JSON.stringify(err)}`;
    msg = maskSecrets(msg);
    if (pino.levels.values[levelName] >= pino.levels.values.warn) this.echo[levelName](msg);
    else this.echo.debug(msg);
    if (this.closed) return;
    this.buffer.push({
      ti_id: this.opts.ti._id,
      dag_id: this.opts.ti.dag_id,
      run_id: this.opts.ti.run_id,
      task_id: this.opts.ti.task_id,
      try_number: this.opts.tryNumber,
      seq: ++this.seq,
      ts: new Date(typeof rec.time === 'number' ? rec.time : Date.now()),
      level: levelName,
      msg,
    });
    if (this.buffer.length >= this.maxBatch) void this.flush();
  }

  /** Write buffered lines; never throws (a log store hiccup must not fail the task). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.buffer.length === 0) return;
      const batch = this.buffer;
      this.buffer = [];
      try {
        await this.opts.repo.append(batch);
      } catch (e) {
        this.echo.warn({ err: e }, `could not store ${batch.length} task log line(s)`);
      }
    });
    return this.flushing;
  }

  /** Final flush at try end; later lines still go to the process log but are not stored. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }
}
