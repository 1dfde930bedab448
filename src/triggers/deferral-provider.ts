/**
 * How a provider (the AWS one, or an embedding application's own) plugs into deferral: ONE typed
 * interface carrying everything deferral needs from it —
 *   triggerKinds   the kinds its operators defer on (run by the triggerer, stored by the worker);
 *   routingKeys    the specific routing keys of the events of its event sources;
 *   reconcilers    what finds resource endings whose events never arrived (one per triggerer);
 *   services       what its tasks and triggers use (clients …).
 * The composition root (Runtime, the CLI's processes, standalone) composes the providers once
 * (`composeDeferral`) and passes the result to the worker and the triggerer. Nothing is registered
 * by importing a module.
 */
import type { Logger } from 'pino';
import type { EventBridgeEvent } from '../events/eventbridge-event.ts';
import { RoutingKeyIndex, type RoutingKeyExtractor } from '../events/routing-keys.ts';
import type { TriggererMetrics } from '../metrics/triggerer-metrics.ts';
import type { Services } from '../services/services.ts';
import type { AnyTriggerKind } from './trigger-kind.ts';
import { TriggerKindRegistry, userTriggerKinds } from './trigger-kind-registry.ts';
import { BUILTIN_TRIGGER_KINDS } from './builtin.ts';

/** What a triggerer gives each reconciler it hosts. */
export interface ReconcilerHost {
  /** Feed a synthetic state-change event through the triggerer's dispatcher: the path real events take. */
  dispatch(event: EventBridgeEvent): Promise<unknown>;
  /** Whether a trigger running here waits on this routing key. */
  isWaitedOn(key: string): boolean;
  /** The triggerer's services (clients …). */
  services: Services;
  /** How often to sweep, and how far back past the previous sweep's start (the triggerer's settings). */
  sweep: { intervalMs?: number; safetyMarginMs?: number };
  logger: Logger;
  metrics: TriggererMetrics;
}

export interface Reconciler {
  start(): void;
  stop(): void;
  /** One sweep of everything it watches, now; resolves with how many endings it found. */
  sweepNow(): Promise<number>;
  /** Services it offers the triggers of its triggerer (e.g. the SageMaker watcher). */
  readonly services?: Services;
}

export type ReconcilerFactory = (host: ReconcilerHost) => Reconciler;

export interface DeferralProvider {
  /** For messages and logs. */
  name: string;
  triggerKinds?: readonly AnyTriggerKind[];
  /** Specific routing keys, by event `source`. */
  routingKeys?: Readonly<Record<string, RoutingKeyExtractor>>;
  reconcilers?: readonly ReconcilerFactory[];
  services?: Services;
}

/** The providers, composed: what the worker and the triggerer are handed. */
export interface Deferral {
  triggerKinds: TriggerKindRegistry;
  routingKeys: RoutingKeyIndex;
  reconcilers: readonly ReconcilerFactory[];
  /** The providers' services merged (a later provider's entry wins). */
  services: Services;
}

/**
 * Built-in kinds + every provider's, with users' `registerTriggerKind` kinds as the fallback.
 * Two providers defining the same kind name is a configuration error (thrown here, at assembly).
 */
export function composeDeferral(providers: readonly DeferralProvider[] = []): Deferral {
  const triggerKinds = new TriggerKindRegistry(BUILTIN_TRIGGER_KINDS, userTriggerKinds);
  const extractors: Array<readonly [string, RoutingKeyExtractor]> = [];
  const reconcilers: ReconcilerFactory[] = [];
  const services: Services = {};
  for (const p of providers) {
    for (const k of p.triggerKinds ?? []) triggerKinds.register(k);
    for (const [source, ex] of Object.entries(p.routingKeys ?? {})) extractors.push([source, ex]);
    reconcilers.push(...(p.reconcilers ?? []));
    Object.assign(services, p.services ?? {});
  }
  return { triggerKinds, routingKeys: new RoutingKeyIndex(extractors), reconcilers, services };
}
