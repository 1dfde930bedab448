/**
 * The `sagemakerWatcher` service the triggerer provides to SageMaker job triggers: one Describe
 * when a trigger starts (the job may already have ended before the task deferred) and a batched
 * List sweep per resource type for jobs whose events never arrived. Results are fed into the
 * triggerer's event router as synthetic state-change events, so they take the same path as real
 * EventBridge events (dedupe, terminal-wins, ack semantics).
 */
import type { Observable } from 'rxjs';
import type { SageMakerJobType } from '../events/sagemaker-job-types.ts';

export const SAGEMAKER_WATCHER_SERVICE = 'sagemakerWatcher';

export interface WatchedJob {
  jobType: SageMakerJobType;
  jobName: string;
  connId: string | null;
  region: string | null;
  /** Lower bound for the first sweep (the trigger's creation). */
  since: Date;
  /** false: skip the start-up Describe (the sweep still covers the job). */
  checkOnStart: boolean;
}

export interface SageMakerWatcher {
  /**
   * Register interest while subscribed. Never emits: findings arrive through the router. Errors
   * only when the job cannot exist (not found after retries), which fails the trigger.
   */
  watch(job: WatchedJob): Observable<never>;
}
