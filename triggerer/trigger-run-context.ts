/**
 * The context a running trigger sees (TriggerRunContext). A class with a lazy logger so that
 * holding 100k triggers does not create 100k child loggers up front. Every routed event goes
 * through the held trigger's `offer`, with its Delivery, so the trigger's state machine decides
 * what the event's ack waits for.
 */
import { Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { EventBridgeEvent } from '../src/events/eventbridge-event.ts';
import type { Services } from '../src/services/services.ts';
import type { RoutedEvent, TriggerRunContext, TriggerStatusReport } from '../src/triggers/trigger-kind.ts';
import type { HeldTrigger } from './held-trigger.ts';
import type { EventRouter } from './routing/event-router.ts';
import type { TimerHeap } from './timer-heap.ts';

export interface RunContextHost {
  logger: Logger;
  router: EventRouter;
  timers: TimerHeap;
  services: Services;
  /** Stores what a trigger reports (batched onto its row). */
  reportStatus?(triggerId: string, s: TriggerStatusReport): void;
}

export class RunContext implements TriggerRunContext {
  private childLogger: Logger | null = null;

  constructor(
    private readonly host: RunContextHost,
    private readonly held: HeldTrigger,
    readonly deadline: Date | null,
    readonly createdAt: Date,
  ) {}

  get triggerId(): string {
    return this.held.id;
  }

  get logger(): Logger {
    this.childLogger ??= this.host.logger.child({ triggerId: this.held.id });
    return this.childLogger;
  }

  get services(): Services {
    return this.host.services;
  }

  eventsFor(key: string): Observable<EventBridgeEvent> {
    return new Observable<EventBridgeEvent>((sub) =>
      this.host.router.subscribe(key, this.held.id, (event, delivery) => this.held.offer(delivery, () => sub.next(event))),
    );
  }

  deliveriesFor(key: string): Observable<RoutedEvent> {
    return new Observable<RoutedEvent>((sub) =>
      this.host.router.subscribe(key, this.held.id, (event, delivery) =>
        this.held.offer(delivery, () => sub.next({ event, delivery: this.held.viewOf(delivery) })),
      ),
    );
  }

  at(moment: Date): Observable<Date> {
    return this.host.timers.at(moment);
  }

  reportStatus(s: TriggerStatusReport): void {
    this.host.reportStatus?.(this.held.id, s);
  }
}
