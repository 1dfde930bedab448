/**
 * Finds SageMaker job endings whose events never reached us, without one Describe per trigger
 * per interval (Airflow's polling, which cannot scale to 100k waits):
 *   - a trigger that starts gets one Describe (the job may have ended before the task deferred);
 *     when many start at once (adoption, restart) the Describes collapse into one catch-up List;
 *   - every sweepIntervalMs, one paginated List<Type>Jobs per (connection, region, type) with
 *     LastModifiedTimeAfter = previous sweep start − safety margin.
 * Findings for jobs we hold become synthetic state-change events fed through the dispatcher, so
 * they follow the exact path of real events (terminal-wins, dedupe). Throttling backs off with
 * jitter and never fails a trigger; a lost event delays a resume by at most one sweep interval.
 */
import { Observable, type Subscription, exhaustMap, from, timer } from 'rxjs';
import type { Logger } from 'pino';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DeferflowError } from '../src/errors/deferflow-error.ts';
import type { EventBridgeEvent } from '../src/events/eventbridge-event.ts';
import { backoffDelayMs, isThrottlingError } from '../src/events/backoff.ts';
import { SAGEMAKER_JOB_SPECS, sageMakerKey, syntheticSageMakerEvent, type SageMakerJobType } from '../src/events/sagemaker-job-types.ts';
import type { TriggererMetrics } from '../src/metrics/triggerer-metrics.ts';
import type { AwsClients } from '../src/triggers/aws-clients.ts';
import type { SageMakerWatcher, WatchedJob } from '../src/triggers/sagemaker-watcher.ts';
import { describeJob, DESCRIBE_OPERATION, isNotFound, LIST_OPERATION, listJobsPage, type JobStatus } from './sagemaker-api.ts';

export interface ReconcilerOptions {
  awsClients(): AwsClients | undefined;
  /** Feed a synthetic event through the triggerer's dispatcher. */
  dispatch(event: EventBridgeEvent): Promise<unknown>;
  /** Whether some trigger here waits on this routing key. */
  isHeldKey(key: string): boolean;
  logger: Logger;
  metrics: TriggererMetrics;
  sweepIntervalMs?: number;
  /** Subtracted from the previous sweep's start (clock skew, eventual consistency). Default 120 s. */
  safetyMarginMs?: number;
  describeConcurrency?: number;
  /** More start-up checks than this in one group at once → one catch-up List instead. Default 20. */
  batchThreshold?: number;
  /** Describe says "not found" this many times (with backoff) → the trigger fails. Default 3. */
  notFoundAttempts?: number;
}

interface Check {
  job: WatchedJob;
  fail(e: Error): void;
  cancelled: boolean;
}

interface Group {
  key: string;
  connId: string | null;
  region: string | null;
  type: SageMakerJobType;
  watchers: number;
  minSince: number;
  lastSweepStart: number | null;
  pending: Check[];
}

export class SageMakerReconciler implements SageMakerWatcher {
  private readonly groups = new Map<string, Group>();
  private readonly o: Required<Omit<ReconcilerOptions, 'awsClients' | 'dispatch' | 'isHeldKey' | 'logger' | 'metrics'>>;
  private sweepSub: Subscription | null = null;
  private flushScheduled = false;
  private readonly abort = new AbortController();
  private describesInFlight = 0;
  private readonly describeQueue: Array<() => Promise<void>> = [];

  constructor(private readonly opts: ReconcilerOptions) {
    this.o = {
      sweepIntervalMs: opts.sweepIntervalMs ?? 60_000,
      safetyMarginMs: opts.safetyMarginMs ?? 120_000,
      describeConcurrency: opts.describeConcurrency ?? 8,
      batchThreshold: opts.batchThreshold ?? 20,
      notFoundAttempts: opts.notFoundAttempts ?? 3,
    };
  }

  start(): void {
    if (this.sweepSub) return;
    this.sweepSub = timer(this.o.sweepIntervalMs, this.o.sweepIntervalMs)
      .pipe(exhaustMap(() => from(this.sweepAll())))
      .subscribe();
  }

  stop(): void {
    this.sweepSub?.unsubscribe();
    this.sweepSub = null;
    this.abort.abort();
  }

  get watchedGroups(): number {
    return this.groups.size;
  }

  watch(job: WatchedJob): Observable<never> {
    return new Observable<never>((sub) => {
      const g = this.groupFor(job);
      g.watchers++;
      g.minSince = Math.min(g.minSince, job.since.getTime());
      let check: Check | null = null;
      if (job.checkOnStart) {
        check = { job, fail: (e) => sub.error(e), cancelled: false };
        g.pending.push(check);
        this.scheduleFlush();
      }
      return () => {
        if (check) check.cancelled = true;
        g.watchers--;
        if (g.watchers === 0) this.groups.delete(g.key);
      };
    });
  }

  /** One sweep of every group now (tests and `sweepIntervalMs` ticks). */
  async sweepAll(): Promise<number> {
    let recovered = 0;
    for (const g of [...this.groups.values()]) {
      if (this.abort.signal.aborted) break;
      recovered += await this.sweepGroup(g, g.lastSweepStart ?? g.minSince);
    }
    return recovered;
  }

  private groupFor(job: WatchedJob): Group {
    const key = `${job.connId ?? ''}|${job.region ?? ''}|${job.jobType}`;
    let g = this.groups.get(key);
    if (!g) {
      g = { key, connId: job.connId, region: job.region, type: job.jobType, watchers: 0, minSince: job.since.getTime(), lastSweepStart: null, pending: [] };
      this.groups.set(key, g);
    }
    return g;
  }

  private client(g: { connId: string | null; region: string | null }): SageMakerClient {
    const clients = this.opts.awsClients();
    if (!clients) {
      throw new DeferflowError('CONFIG_ERROR', "The triggerer has no 'awsClients' service, so it cannot reach SageMaker", {
        hint: "Start the triggerer with services: { awsClients } (the AWS provider's client factory).",
      });
    }
    return clients.sagemaker(g.connId, g.region);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // A short window lets a burst of starting triggers (claim of a batch) collapse into one List.
    setTimeout(() => {
      this.flushScheduled = false;
      this.flushChecks();
    }, 5).unref();
  }

  private flushChecks(): void {
    for (const g of this.groups.values()) {
      const checks = g.pending.filter((c) => !c.cancelled);
      g.pending = [];
      if (checks.length === 0) continue;
      if (checks.length > this.o.batchThreshold) {
        const since = Math.min(...checks.map((c) => c.job.since.getTime()));
        void this.sweepGroup(g, since, false);
        continue;
      }
      for (const c of checks) this.enqueueDescribe(() => this.describeOnce(g, c));
    }
  }

  private enqueueDescribe(work: () => Promise<void>): void {
    this.describeQueue.push(work);
    this.pumpDescribes();
  }

  private pumpDescribes(): void {
    while (this.describesInFlight < this.o.describeConcurrency && this.describeQueue.length > 0) {
      const work = this.describeQueue.shift()!;
      this.describesInFlight++;
      void work().finally(() => {
        this.describesInFlight--;
        this.pumpDescribes();
      });
    }
  }

  private async describeOnce(g: Group, c: Check): Promise<void> {
    const op = DESCRIBE_OPERATION[g.type];
    let notFound = 0;
    for (let attempt = 1; !c.cancelled && !this.abort.signal.aborted; attempt++) {
      try {
        this.opts.metrics.awsCalls.inc({ operation: op });
        const st = await describeJob(this.client(g), g.type, c.job.jobName, this.abort.signal);
        if (!c.cancelled) await this.feed(g, st, 'describe');
        return;
      } catch (e) {
        if (c.cancelled || this.abort.signal.aborted) return;
        if (e instanceof DeferflowError) return c.fail(e);
        if (isThrottlingError(e)) {
          this.opts.metrics.awsThrottled.inc({ operation: op });
          await sleep(backoffDelayMs(attempt, { baseMs: 250, maxMs: 30_000 }));
          continue;
        }
        if (isNotFound(e)) {
          if (++notFound >= this.o.notFoundAttempts) {
            return c.fail(new DeferflowError('TRIGGER_FAILED', `SageMaker ${g.type} job ${c.job.jobName} does not exist (${(e as Error).message})`));
          }
          await sleep(backoffDelayMs(notFound, { baseMs: 500, maxMs: 5_000 }));
          continue;
        }
        // Network / credentials: the sweep and the events still cover this job.
        this.opts.logger.warn({ err: e, job: c.job.jobName, type: g.type }, 'Start-up Describe failed; relying on events and the reconcile sweep');
        return;
      }
    }
  }

  /** Paginated List since `sinceMs − margin`; feeds ended jobs we hold. Returns how many it fed. */
  private async sweepGroup(g: Group, sinceMs: number, advance = true): Promise<number> {
    const op = LIST_OPERATION[g.type];
    const started = Date.now();
    const since = new Date(sinceMs - this.o.safetyMarginMs);
    let token: string | undefined;
    let recovered = 0;
    let throttles = 0;
    try {
      do {
        let page;
        try {
          this.opts.metrics.awsCalls.inc({ operation: op });
          page = await listJobsPage(this.client(g), g.type, since, token, this.abort.signal);
        } catch (e) {
          if (!isThrottlingError(e) || this.abort.signal.aborted) throw e;
          this.opts.metrics.awsThrottled.inc({ operation: op });
          if (++throttles > 8) throw e;
          await sleep(backoffDelayMs(throttles, { baseMs: 250, maxMs: 30_000 }));
          continue; // same page again
        }
        for (const job of page.jobs) {
          if (!job.name || !this.opts.isHeldKey(sageMakerKey(g.type, job.name))) continue;
          if (await this.feed(g, job, 'sweep')) recovered++;
        }
        token = page.nextToken;
      } while (token && !this.abort.signal.aborted);
      if (advance) g.lastSweepStart = started;
      this.opts.metrics.sweepRuns.inc({ job_type: g.type, result: 'ok' });
    } catch (e) {
      if (this.abort.signal.aborted) return recovered;
      const throttled = isThrottlingError(e);
      this.opts.metrics.sweepRuns.inc({ job_type: g.type, result: throttled ? 'throttled' : 'error' });
      this.opts.logger.warn({ err: e, type: g.type, conn: g.connId, region: g.region }, 'Reconcile sweep failed; the next one covers the same window');
    }
    return recovered;
  }

  /** A terminal status becomes a synthetic event; returns whether it was one. */
  private async feed(g: Group, st: JobStatus, origin: 'describe' | 'sweep'): Promise<boolean> {
    const spec = SAGEMAKER_JOB_SPECS[g.type];
    if (!spec.outcomes[st.status]) return false;
    let failureReason = st.failureReason;
    if (!failureReason && spec.outcomes[st.status] === 'failed' && origin === 'sweep') {
      try {
        this.opts.metrics.awsCalls.inc({ operation: DESCRIBE_OPERATION[g.type] });
        failureReason = (await describeJob(this.client(g), g.type, st.name, this.abort.signal)).failureReason;
      } catch {
        // The reason is a nicety; the outcome is what matters.
      }
    }
    this.opts.metrics.sweepRecovered.inc({ job_type: g.type });
    this.opts.logger.info({ job: st.name, type: g.type, status: st.status, origin }, `Found an ended SageMaker job by ${origin}`);
    await this.opts.dispatch(
      syntheticSageMakerEvent({
        type: g.type,
        name: st.name,
        status: st.status,
        failureReason,
        region: g.region ?? 'us-east-1',
        origin: `deferflow-${origin}`,
      }),
    );
    return true;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
