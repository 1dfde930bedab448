/**
 * The second write of a resume, batched: once a task's guarded `deferred → scheduled` update has
 * landed (the event's ack waits only for that), its trigger row is garbage. Rows to delete are
 * collected per event-loop turn and removed with ONE `deleteMany`, so a burst of resumes costs one
 * delete command, not one per resume. A row whose delete failed (or never ran: a crash) is an
 * orphan its shard's holder deletes later (its task no longer waits on it), never a second resume:
 * the task's guard names the trigger, and the trigger no longer matches.
 */
import type { Logger } from 'pino';
import type { TriggerTransitions } from '../src/store/transitions/trigger-transitions.ts';

export class RowDeletes {
  private readonly queued = new Map<string, 'fired' | 'deleted'>();
  /** Settles the callers of the batch being collected. */
  private waiters: Array<() => void> = [];
  private readonly inFlight = new Set<string>();
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly triggers: TriggerTransitions,
    private readonly logger: Logger,
  ) {}

  /**
   * Delete this row with the next batch; resolves once that batch ran (never rejects: a failed
   * delete leaves an orphan, see above).
   */
  delete(triggerId: string, action: 'fired' | 'deleted'): Promise<void> {
    // A row both fired and found stale in one moment (a duplicate event) was fired.
    if (this.queued.get(triggerId) !== 'fired') this.queued.set(triggerId, action);
    const done = new Promise<void>((r) => this.waiters.push(r));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flushing = this.flushing.then(() => this.flush());
      });
    }
    return done;
  }

  /** Rows waiting for (or in) a delete: they exist a moment longer by our own doing. */
  has(triggerId: string): boolean {
    return this.queued.has(triggerId) || this.inFlight.has(triggerId);
  }

  ids(): string[] {
    return [...this.queued.keys(), ...this.inFlight];
  }

  /** Resolves once everything queued so far is deleted (stop, tests). */
  async drain(): Promise<void> {
    while (this.queued.size > 0 || this.scheduled) {
      if (!this.scheduled) this.flushing = this.flushing.then(() => this.flush());
      await this.flushing;
      await new Promise((r) => setImmediate(r));
    }
    await this.flushing;
  }

  private async flush(): Promise<void> {
    const waiters = this.waiters;
    this.waiters = [];
    try {
      await this.deleteQueued();
    } finally {
      for (const w of waiters) w();
    }
  }

  private async deleteQueued(): Promise<void> {
    if (this.queued.size === 0) return;
    const byAction = new Map<'fired' | 'deleted', string[]>();
    for (const [id, action] of this.queued) {
      const list = byAction.get(action);
      if (list) list.push(id);
      else byAction.set(action, [id]);
      this.inFlight.add(id);
    }
    this.queued.clear();
    for (const [action, ids] of byAction) {
      try {
        await this.triggers.deleteMany(ids, action);
      } catch (e) {
        this.logger.warn({ err: e, rows: ids.length }, 'Deleting resumed triggers failed; their shard holder deletes them as orphans');
      } finally {
        for (const id of ids) this.inFlight.delete(id);
      }
    }
  }
}
