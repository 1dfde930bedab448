/**
 * What the scheduler reports to a metrics backend. An interface only, kept with the metrics so the
 * scheduler depends on it as a type and `process-metrics.ts` wires it to prom-client; every hook is optional so a partial implementation is fine.
 */
export interface SchedulerLoopResult {
  runsCreated: number;
  tisScheduled: number;
  tisQueued: number;
  runsFinished: number;
  zombies: number;
  loopMs: number;
}

export interface SchedulerMetrics {
  /** Every loop, after it ended. */
  loop?(result: SchedulerLoopResult): void;
  /** A loop threw (the next one still runs). */
  loopError?(error: unknown): void;
  dagRunFinished?(info: { dagId: string; runId: string; state: 'success' | 'failed'; durationMs: number | null }): void;
  zombieReaped?(info: { dagId: string; taskId: string; outcome: 'up_for_retry' | 'failed' }): void;
  deferredTimedOut?(info: { dagId: string; taskId: string; reason: 'trigger_timeout' | 'execution_timeout' }): void;
}
