/**
 * What running triggers report about the resources they watch (TriggerRunContext.reportStatus),
 * stored on their trigger rows: the latest report per trigger, all of one event-loop turn in ONE
 * bulk write. Best effort: a failed write is logged; the next report writes again.
 *
 * Only triggers still waiting when the batch is written get their report stored: one that decided
 * meanwhile (the report of the event that ended its job, typically) has its row deleted with its
 * resume, and writing it first was one more write per resume (issue 10.5). Should its resume have
 * to wait (task mid-deferral), the row keeps the status before; the task's log has the last one.
 */
import type { Logger } from 'pino';
import type { TriggerStatus, TriggerTransitions } from '../src/store/transitions/trigger-transitions.ts';

export class StatusWriter {
  private pending = new Map<string, TriggerStatus>();
  private scheduled = false;

  constructor(
    private readonly triggers: TriggerTransitions,
    private readonly logger: Logger,
    /** Whether the trigger still waits here (its row outlives this moment); default: always. */
    private readonly stillWaiting: (triggerId: string) => boolean = () => true,
  ) {}

  report(triggerId: string, s: TriggerStatus): void {
    const prev = this.pending.get(triggerId);
    if (prev && prev.at > s.at) return;
    this.pending.set(triggerId, s);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = new Map([...this.pending].filter(([id]) => this.stillWaiting(id)));
    this.pending = new Map();
    try {
      await this.triggers.recordStatuses(batch);
    } catch (e) {
      this.logger.warn({ err: e, triggers: batch.size }, 'Recording job statuses on trigger rows failed');
    }
  }
}
