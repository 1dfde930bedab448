/**
 * The triggerer's lifecycle as an explicit state machine (Temporal-worker style):
 *
 *   created → starting → running → draining → stopped
 *                  ╰──────────────────╯ (start failed)
 *
 * `draining` stops claiming and consuming, cancels the waits (never the remote jobs), lets
 * in-flight resumes finish — or gives up after a deadline (`drainOrForce`, a race()) — then
 * releases the triggers for others to adopt.
 */
import { BehaviorSubject, filter, firstValueFrom, last, map, race, take, timer, type Observable, type SchedulerLike } from 'rxjs';

export type LifecycleState = 'created' | 'starting' | 'running' | 'draining' | 'stopped';

const ALLOWED: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  created: ['starting', 'stopped'],
  starting: ['running', 'draining'],
  running: ['draining'],
  draining: ['stopped'],
  stopped: [],
};

export class Lifecycle {
  private readonly subject = new BehaviorSubject<LifecycleState>('created');
  readonly state$: Observable<LifecycleState> = this.subject.asObservable();

  get state(): LifecycleState {
    return this.subject.value;
  }

  canMove(to: LifecycleState): boolean {
    return ALLOWED[this.state].includes(to);
  }

  /** Move to `to`; throws on a transition the machine does not allow. */
  to(to: LifecycleState): void {
    if (!this.canMove(to)) throw new Error(`Invalid triggerer lifecycle transition ${this.state} → ${to}`);
    this.subject.next(to);
    if (to === 'stopped') this.subject.complete();
  }

  /** Resolves once the machine reaches `state` (or at once if already there / past it). */
  when(state: LifecycleState): Promise<LifecycleState> {
    return firstValueFrom(this.state$.pipe(filter((s) => s === state || s === 'stopped')), { defaultValue: 'stopped' as LifecycleState });
  }
}

/**
 * Wait for `drained$` to complete, but no longer than `timeoutMs`: emits 'drained' or 'forced'
 * once and completes.
 */
export function drainOrForce(drained$: Observable<unknown>, timeoutMs: number, scheduler?: SchedulerLike): Observable<'drained' | 'forced'> {
  return race(
    drained$.pipe(
      last(undefined, null),
      map(() => 'drained' as const),
    ),
    timer(timeoutMs, scheduler).pipe(map(() => 'forced' as const)),
  ).pipe(take(1));
}
