/**
 * The AWS provider's reconciler, hosted by each triggerer: finds SageMaker job endings whose
 * events never reached us, without one Describe per trigger per interval (Airflow's polling, which
 * cannot scale to 100k waits):
 *   - a trigger that starts gets at most one Describe, `startCheckDelayMs` after it starts (the job
 *     may have ended before the task deferred, when no event could find the trigger yet) — skipped
 *     when the job's own events (or a sweep) show it still running after the trigger existed:
 *     then its end is an event that finds the trigger. When many are due at once (adoption,
 *     restart) the Describes collapse into one catch-up List;
 *   - every sweep interval, one paginated List per (connection, region, type) with
 *     LastModifiedTimeAfter = previous sweep start − safety margin.
 * Findings for jobs waited on here become synthetic state-change events, carrying the region and
 * account of the resource's ARN as AWS reported it, fed through the triggerer's dispatcher — the
 * exact path of real events (origin check, terminal-wins, dedupe, progress while deferred: a job
 * still running is fed too, with its status). Throttling backs off with jitter and never fails a
 * trigger; a lost event delays a resume by at most one sweep interval.
 * It is also the `sagemakerWatcher` service SageMaker job triggers register with.
 */
import { Observable, type Subscription, exhaustMap, from, timer } from 'rxjs';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DeferflowError } from '../../../errors/deferflow-error.ts';
import type { Services } from '../../../services/services.ts';
import type { Reconciler, ReconcilerHost } from '../../../triggers/deferral-provider.ts';
import { backoffDelayMs, sleep } from '../../../util/backoff.ts';
import { isNotFound, isThrottling } from '../aws-errors.ts';
import { failureReasonOf, outcomeOf, SAGEMAKER_RESOURCES, type ResourceSummary, type SageMakerResourceType } from '../sagemaker/resources.ts';
import { requireAwsClients } from '../services.ts';
import { sageMakerKey, syntheticSageMakerEvent } from './sagemaker-events.ts';
import type { SageMakerWatcher, WatchedJob } from './sagemaker-watcher.ts';

export interface SageMakerReconcilerOptions {
  /** Sweep period. Default 60 s. */
  sweepIntervalMs?: number;
  /** Subtracted from the previous sweep's start (clock skew, eventual consistency). Default 120 s. */
  safetyMarginMs?: number;
  describeConcurrency?: number;
  /** More start-up checks than this in one group at once → one catch-up List instead. Default 20. */
  batchThreshold?: number;
  /**
   * How long after a trigger starts its start-up Describe runs, unless the job was seen running
   * after the trigger existed first. Default 10 s: long enough for the next status event of a job
   * the local AWS runs, short for a job that ended before the task deferred.
   */
  startCheckDelayMs?: number;
  /** Describe says "not found" this many times (with backoff) → the trigger fails. Default 3. */
  notFoundAttempts?: number;
}

interface Check {
  job: WatchedJob;
  fail(e: Error): void;
  cancelled: boolean;
  group: Group;
  /** Date.now() when the check is due. */
  dueAt: number;
}

interface Group {
  key: string;
  connId: string | null;
  region: string | null;
  type: SageMakerResourceType;
  watchers: number;
  minSince: number;
  lastSweepStart: number | null;
  pending: Check[];
}

export class SageMakerReconciler implements Reconciler, SageMakerWatcher {
  readonly services: Services = { sagemakerWatcher: this };
  private readonly groups = new Map<string, Group>();
  private readonly o: Required<SageMakerReconcilerOptions>;
  private sweepSub: Subscription | null = null;
  private flushScheduled = false;
  private readonly abort = new AbortController();
  private describesInFlight = 0;
  private readonly describeQueue: Array<() => Promise<void>> = [];
  /** Start-up checks waiting for their delay, in due order (one timer for the head, not one per trigger). */
  private readonly delayed: Check[] = [];
  private delayedHead = 0;
  private delayTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: ReconcilerHost,
    opts: SageMakerReconcilerOptions = {},
  ) {
    this.o = {
      sweepIntervalMs: opts.sweepIntervalMs ?? 60_000,
      safetyMarginMs: opts.safetyMarginMs ?? 120_000,
      describeConcurrency: opts.describeConcurrency ?? 8,
      batchThreshold: opts.batchThreshold ?? 20,
      notFoundAttempts: opts.notFoundAttempts ?? 3,
      startCheckDelayMs: opts.startCheckDelayMs ?? 10_000,
    };
  }

  start(): void {
    if (this.sweepSub) return;
    this.sweepSub = timer(this.o.sweepIntervalMs, this.o.sweepIntervalMs)
      .pipe(exhaustMap(() => from(this.sweepNow())))
      .subscribe();
  }

  stop(): void {
    this.sweepSub?.unsubscribe();
    this.sweepSub = null;
    this.abort.abort();
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.delayTimer = null;
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
      let alive: { unsubscribe(): void } | null = null;
      if (job.checkOnStart) {
        const c: Check = { job, fail: (e) => sub.error(e), cancelled: false, group: g, dueAt: Date.now() + this.o.startCheckDelayMs };
        check = c;
        // Seen running after the trigger existed: its end will be an event that finds the trigger.
        alive = job.seenRunning$?.subscribe(() => (c.cancelled = true)) ?? null;
        if (!c.cancelled) this.delay(c);
      }
      return () => {
        if (check) check.cancelled = true;
        alive?.unsubscribe();
        g.watchers--;
        if (g.watchers === 0) this.groups.delete(g.key);
      };
    });
  }

  /** One sweep of every group now (tests, CLI, and the sweep interval's ticks). */
  async sweepNow(): Promise<number> {
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
    return requireAwsClients(this.host.services, 'The SageMaker reconcile sweep').sagemaker(g.connId, g.region);
  }

  /** Queue a start-up check until it is due (checks are queued in due order: the delay is one constant). */
  private delay(c: Check): void {
    this.delayed.push(c);
    if (!this.delayTimer) this.armDelayTimer();
  }

  private armDelayTimer(): void {
    // Drop what was cancelled meanwhile (evidence came, trigger ended) from the head.
    while (this.delayedHead < this.delayed.length && this.delayed[this.delayedHead].cancelled) this.delayedHead++;
    if (this.delayedHead >= this.delayed.length) {
      this.delayed.length = 0;
      this.delayedHead = 0;
      return;
    }
    const wait = Math.max(0, this.delayed[this.delayedHead].dueAt - Date.now());
    this.delayTimer = setTimeout(() => {
      this.delayTimer = null;
      const now = Date.now();
      while (this.delayedHead < this.delayed.length && this.delayed[this.delayedHead].dueAt <= now) {
        const c = this.delayed[this.delayedHead++];
        if (c.cancelled || this.abort.signal.aborted) continue;
        c.group.pending.push(c);
      }
      // Compact now and then so the queue does not grow without bound.
      if (this.delayedHead > 1024 && this.delayedHead * 2 > this.delayed.length) {
        this.delayed.splice(0, this.delayedHead);
        this.delayedHead = 0;
      }
      this.scheduleFlush();
      if (!this.abort.signal.aborted) this.armDelayTimer();
    }, wait);
    this.delayTimer.unref();
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
    const resource = SAGEMAKER_RESOURCES[g.type];
    const op = resource.operations.describe;
    let notFound = 0;
    for (let attempt = 1; !c.cancelled && !this.abort.signal.aborted; attempt++) {
      try {
        this.host.metrics.awsCalls.inc({ operation: op });
        const desc = await resource.describe(this.client(g), c.job.jobName, this.abort.signal);
        const found: ResourceSummary = {
          name: c.job.jobName,
          arn: typeof desc[resource.arnField] === 'string' ? (desc[resource.arnField] as string) : null,
          status: String(desc[resource.statusField] ?? ''),
          secondaryStatus: typeof desc.SecondaryStatus === 'string' ? desc.SecondaryStatus : null,
          creationTime: null,
          failureReason: failureReasonOf(resource, desc),
        };
        if (!c.cancelled) await this.feed(g, found, 'describe');
        return;
      } catch (e) {
        if (c.cancelled || this.abort.signal.aborted) return;
        if (e instanceof DeferflowError) return c.fail(e);
        if (isThrottling(e)) {
          this.host.metrics.awsThrottled.inc({ operation: op });
          await sleep(backoffDelayMs(attempt, { baseMs: 250, maxMs: 30_000 }), this.abort.signal);
          continue;
        }
        if (isNotFound(e)) {
          if (++notFound >= this.o.notFoundAttempts) {
            return c.fail(new DeferflowError('TRIGGER_FAILED', `SageMaker ${g.type} job ${c.job.jobName} does not exist (${(e as Error).message})`));
          }
          await sleep(backoffDelayMs(notFound, { baseMs: 500, maxMs: 5_000 }), this.abort.signal);
          continue;
        }
        // Network / credentials: the sweep and the events still cover this job.
        this.host.logger.warn({ err: e, job: c.job.jobName, type: g.type }, 'Start-up Describe failed; relying on events and the reconcile sweep');
        return;
      }
    }
  }

  /** Paginated List since `sinceMs − margin`; feeds ended resources waited on here. Returns how many it fed. */
  private async sweepGroup(g: Group, sinceMs: number, advance = true): Promise<number> {
    const resource = SAGEMAKER_RESOURCES[g.type];
    const op = resource.operations.list;
    const started = Date.now();
    const since = new Date(sinceMs - this.o.safetyMarginMs);
    let token: string | undefined;
    let recovered = 0;
    let throttles = 0;
    try {
      do {
        let page;
        try {
          this.host.metrics.awsCalls.inc({ operation: op });
          page = await resource.listModifiedSince(this.client(g), since, token, this.abort.signal);
        } catch (e) {
          if (!isThrottling(e) || this.abort.signal.aborted) throw e;
          this.host.metrics.awsThrottled.inc({ operation: op });
          if (++throttles > 8) throw e;
          await sleep(backoffDelayMs(throttles, { baseMs: 250, maxMs: 30_000 }), this.abort.signal);
          continue; // same page again
        }
        for (const item of page.items) {
          if (!item.name || !this.host.isWaitedOn(sageMakerKey(g.type, item.name))) continue;
          if (await this.feed(g, item, 'sweep')) recovered++;
        }
        token = page.nextToken;
      } while (token && !this.abort.signal.aborted);
      if (advance) g.lastSweepStart = started;
      this.host.metrics.sweepRuns.inc({ job_type: g.type, result: 'ok' });
    } catch (e) {
      if (this.abort.signal.aborted) return recovered;
      const throttled = isThrottling(e);
      this.host.metrics.sweepRuns.inc({ job_type: g.type, result: throttled ? 'throttled' : 'error' });
      this.host.logger.warn({ err: e, type: g.type, conn: g.connId, region: g.region }, 'Reconcile sweep failed; the next one covers the same window');
    }
    return recovered;
  }

  /**
   * What a Describe or List found becomes a synthetic event: a terminal status resumes the task; a
   * status still changing tells the trigger the job's progress (and that it runs). Returns whether
   * it was terminal.
   */
  private async feed(g: Group, found: ResourceSummary, origin: 'describe' | 'sweep'): Promise<boolean> {
    const resource = SAGEMAKER_RESOURCES[g.type];
    const outcome = outcomeOf(resource, found.status);
    if (!outcome) {
      if (!found.status) return false;
      await this.host.dispatch(
        syntheticSageMakerEvent({
          type: g.type,
          name: found.name,
          status: found.status,
          secondaryStatus: found.secondaryStatus,
          arn: found.arn,
          region: g.region ?? undefined,
          origin: `deferflow-${origin}`,
        }),
      );
      return false;
    }
    let failureReason = found.failureReason;
    if (!failureReason && outcome === 'failed' && origin === 'sweep') {
      try {
        this.host.metrics.awsCalls.inc({ operation: resource.operations.describe });
        failureReason = failureReasonOf(resource, await resource.describe(this.client(g), found.name, this.abort.signal));
      } catch {
        // The reason is a nicety; the outcome is what matters.
      }
    }
    if (!found.arn)
      this.host.logger.warn({ job: found.name, type: g.type }, 'SageMaker reported no ARN; only triggers without a job ARN can accept this finding');
    this.host.metrics.sweepRecovered.inc({ job_type: g.type });
    this.host.logger.info({ job: found.name, type: g.type, status: found.status, origin }, `Found an ended SageMaker job by ${origin}`);
    await this.host.dispatch(
      syntheticSageMakerEvent({
        type: g.type,
        name: found.name,
        status: found.status,
        secondaryStatus: found.secondaryStatus,
        failureReason,
        arn: found.arn,
        region: g.region ?? undefined,
        origin: `deferflow-${origin}`,
      }),
    );
    return true;
  }
}
