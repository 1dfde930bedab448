/**
 * Pieces every job kind shares: abortable stage waits on the shared
 * scheduler, the CloudWatch log stream a job writes to, metric extraction
 * from log lines (SageMaker's MetricDefinitions regexes), and the `/opt/ml`
 * path rewriting that lets a host command follow the container contract.
 */
import type { LogsStore } from '../logs/store.ts';
import type { Scheduler } from '../scheduler.ts';
import { randomHex } from '../util.ts';

export class StopRequested extends Error {
  constructor(readonly reason: 'stop' | 'shutdown' | 'maxRuntime' = 'stop') {
    super(`job ${reason}`);
  }
}

/** Waits `ms` unless the job is stopped first (then rejects with StopRequested). */
export function stageWait(scheduler: Scheduler, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason instanceof StopRequested ? signal.reason : new StopRequested());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      scheduler.cancel(h);
      reject(signal.reason instanceof StopRequested ? signal.reason : new StopRequested());
    };
    const h = scheduler.after(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Races a promise against the job's stop signal. */
export function unlessStopped<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason instanceof StopRequested ? signal.reason : new StopRequested());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof StopRequested ? signal.reason : new StopRequested());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** A job's CloudWatch log stream: `<group>` / `<job>/algo-1-<epoch>`, written line by line as output arrives. */
export class JobLog {
  readonly stream: string;

  constructor(
    private readonly logs: LogsStore,
    readonly group: string,
    jobName: string,
    host = 'algo-1',
  ) {
    this.stream = `${jobName}/${host}-${Math.floor(Date.now() / 1000)}`;
  }

  line(message: string): void {
    this.logs.append(this.group, this.stream, [{ timestamp: Date.now(), message }]);
  }
}

export function instanceStream(variant: string): string {
  return `${variant}/i-${randomHex(8)}${randomHex(1).slice(0, 1)}`;
}

export interface MetricDefinition {
  Name: string;
  Regex: string;
}

/** Applies MetricDefinitions regexes to log lines; the last value seen is the final metric, as in SageMaker. */
export class MetricCollector {
  private defs: Array<{ name: string; re: RegExp }> = [];
  private values = new Map<string, { value: number; at: number }>();

  constructor(defs: MetricDefinition[]) {
    for (const d of defs) {
      try {
        this.defs.push({ name: d.Name, re: new RegExp(d.Regex) });
      } catch {
        /* an invalid regex simply never matches (CreateTrainingJob validated it) */
      }
    }
  }

  line(l: string): void {
    for (const d of this.defs) {
      const m = d.re.exec(l);
      if (!m) continue;
      const v = Number(m[1] ?? m[0]);
      if (Number.isFinite(v)) this.values.set(d.name, { value: v, at: Date.now() });
    }
  }

  final(): Array<{ MetricName: string; Value: number; Timestamp: number }> {
    return [...this.values].map(([MetricName, v]) => ({ MetricName, Value: v.value, Timestamp: v.at }));
  }
}

/** Rewrites `/opt/ml/...` in a command argument to the job directory. */
export function rewriteOptMl(arg: string, jobDir: string): string {
  return arg.replace(/(^|[=\s:,])\/opt\/ml(?=\/|$|[\s:,])/g, `$1${jobDir}`);
}

/** SageMaker hyperparameter values are strings, often JSON-encoded by the Python SDK; decode when possible. */
export function decodeHp(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
