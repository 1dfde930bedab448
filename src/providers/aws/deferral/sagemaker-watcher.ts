/**
 * The `sagemakerWatcher` service SageMaker job triggers use: one Describe when a trigger starts
 * (the job may already have ended before the task deferred) and a batched List sweep per resource
 * type for jobs whose events never arrived. Findings are fed into the triggerer's dispatcher as
 * synthetic state-change events, so they take the same path as real EventBridge events (dedupe,
 * terminal-wins, ack semantics). The triggerer's SageMaker reconciler implements it.
 */
import type { Observable } from 'rxjs';
import type { SageMakerResourceType } from '../sagemaker/resources.ts';

export interface WatchedJob {
  jobType: SageMakerResourceType;
  jobName: string;
  connId: string | null;
  region: string | null;
  /** Lower bound for the first sweep (the trigger's creation). */
  since: Date;
  /** false: skip the start-up Describe (the sweep still covers the job). */
  checkOnStart: boolean;
  /**
   * Emits when the job was seen still running after the trigger existed (a status event dated
   * after it, or a sweep): its end will then be an event that finds the trigger, so the start-up
   * Describe is not needed.
   */
  seenRunning$?: Observable<unknown>;
}

export interface SageMakerWatcher {
  /**
   * Register interest while subscribed. Never emits: findings arrive through the router. Errors
   * only when the job cannot exist (not found after retries), which fails the trigger.
   */
  watch(job: WatchedJob): Observable<never>;
}
