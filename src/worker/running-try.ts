/**
 * A try this worker holds: the claimed row, its lease token, the abort controller that stops the
 * task, and whether the try may still write the row. Once the lease is lost it never writes again
 * (stale-exit rule), whatever the task function does afterwards.
 */
import type { TaskInstanceDoc } from '../store/schema.ts';
import { LeaseLost } from './abort-reasons.ts';

export class RunningTry {
  readonly controller = new AbortController();
  readonly claimedAt = performance.now();
  private lost = false;
  /**
   * Set when the runner starts writing the outcome: a lease renewal that fails after that point
   * raced with our own final write (which the lease token still guards), not with someone else.
   */
  settling = false;
  /** Settles when the runner is completely done with this try. */
  done: Promise<void> = Promise.resolve();

  constructor(readonly ti: TaskInstanceDoc) {}

  get token(): string {
    return this.ti.lease_token!;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** False once the lease was lost: nothing may be written for this try any more. */
  get mayWrite(): boolean {
    return !this.lost;
  }

  loseLease(reason = new LeaseLost()): void {
    this.lost = true;
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  abort(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  get heldMs(): number {
    return performance.now() - this.claimedAt;
  }
}
