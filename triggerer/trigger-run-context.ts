/**
 * The context a running trigger sees. A class with a lazy logger so that holding 100k triggers
 * does not create 100k child loggers up front.
 */
import type { Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { EventBridgeEvent } from '../src/events/eventbridge-event.ts';
import type { TriggerRunContext } from '../src/triggers/trigger-kind.ts';

export interface RunContextHost {
  logger: Logger;
  eventsFor(key: string): Observable<EventBridgeEvent>;
  service<T>(name: string): T;
  at(moment: Date): Observable<Date>;
  holdDelivery(triggerId: string): void;
}

export class RunContext implements TriggerRunContext {
  private childLogger: Logger | null = null;

  constructor(
    private readonly host: RunContextHost,
    readonly triggerId: string,
    readonly deadline: Date | null,
    readonly createdAt: Date,
  ) {}

  get logger(): Logger {
    this.childLogger ??= this.host.logger.child({ triggerId: this.triggerId });
    return this.childLogger;
  }

  eventsFor(key: string): Observable<EventBridgeEvent> {
    return this.host.eventsFor(key);
  }

  service<T>(name: string): T {
    return this.host.service<T>(name);
  }

  at(moment: Date): Observable<Date> {
    return this.host.at(moment);
  }

  holdDelivery(): void {
    this.host.holdDelivery(this.triggerId);
  }
}
