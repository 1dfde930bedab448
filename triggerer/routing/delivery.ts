/**
 * One incoming event on its way through a triggerer, and what must finish before it may be
 * acknowledged. The dispatcher creates it, passes it INTO routing (every trigger the event reaches
 * gets it explicitly, see TriggerRunContext.deliveriesFor / EventDelivery), and acks the event only
 * when everything enlisted here has settled: resumes persisted from MongoDB, outcomes of triggers
 * that decided on the event, triggers that held it. A rejection anywhere hands the event back.
 *
 * This replaces a synchronous "current delivery" window on the dispatcher: which work belongs to
 * which event is carried by this object, not inferred from what happens to run while route() does.
 */
import type { EventBridgeEvent } from '../../src/events/eventbridge-event.ts';

export class Delivery {
  private readonly work: Promise<unknown>[] = [];

  constructor(
    readonly event: EventBridgeEvent,
    /** performance.now() when the event was ingested (resume-latency metric). */
    readonly ingestedAt: number,
  ) {}

  /** The event's ack waits for `p`; if `p` rejects the event is handed back for redelivery. */
  waitFor(p: Promise<unknown>): void {
    // Observed below; never an unhandled rejection in between.
    p.catch(() => undefined);
    this.work.push(p);
  }

  /** Whether any trigger or resume enlisted work on this event. */
  get enlisted(): boolean {
    return this.work.length > 0;
  }

  /** Resolves once all enlisted work settled (including work enlisted meanwhile): true when none failed. */
  async settled(): Promise<boolean> {
    let ok = true;
    for (let i = 0; i < this.work.length; i++) {
      try {
        await this.work[i];
      } catch {
        ok = false;
      }
    }
    return ok;
  }
}
