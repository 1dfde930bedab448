/**
 * What running triggers report about the resources they watch (TriggerRunContext.reportStatus),
 * stored on their trigger rows: the latest report per trigger, all of one event-loop turn in ONE
 * bulk write. Best effort: a failed write is logged; the next report writes again.
 */
import type { Logger } from 'pino';
import type { TriggerStatus, TriggerTransitions } from '../src/store/transitions/trigger-transitions.ts';

export class StatusWriter {
  private pending = new Map<string, TriggerStatus>();
  private scheduled = false;

  constructor(
    private readonly triggers: TriggerTransitions,
    private readonly logger: Logger,
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
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.triggers.recordStatuses(batch);
    } catch (e) {
      this.logger.warn({ err: e, triggers: batch.size }, 'Recording job statuses on trigger rows failed');
    }
  }
}
