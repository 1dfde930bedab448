/**
 * The services tasks (`ctx.services`) and triggers get, and the deferral providers they come with,
 * made in one place for every process. `awsClients` defaults to ONE AwsClientFactory over the
 * stored connections (AwsClientFactory.forStore) — the factory hooks built inside a task use too
 * (through the task scope), so stored connections resolve the same way in every process. The AWS
 * provider and any given providers are composed once (`composeDeferral`): the worker stores each
 * trigger's routing keys with its kinds, the triggerer runs them.
 */
import { AwsClientFactory } from '../providers/aws/aws-clients.ts';
import { awsDeferralProvider } from '../providers/aws/deferral/aws-deferral-provider.ts';
import type { Services } from '../services/services.ts';
import type { Store } from '../store/store.ts';
import { deploymentIdOf } from '../store/repositories/deployment-repository.ts';
import { composeDeferral, type Deferral, type DeferralProvider } from '../triggers/deferral-provider.ts';

export type { Services };

export interface ProcessServices {
  /** The providers' services, then the caller's (the caller's entries win), with `awsClients`. */
  services: Services;
  awsClients: AwsClientFactory;
  deferral: Deferral;
  close(): void;
}

export function processServices(store: Store, given: Partial<Services>, providers: readonly DeferralProvider[] = []): ProcessServices {
  const ownsFactory = !(given.awsClients instanceof AwsClientFactory);
  const awsClients = given.awsClients instanceof AwsClientFactory ? given.awsClients : AwsClientFactory.forStore(store);
  const deferral = composeDeferral([awsDeferralProvider(awsClients), ...providers]);
  return {
    services: { deploymentId: () => deploymentIdOf(store), ...deferral.services, ...given, awsClients } as Services,
    awsClients,
    deferral,
    close: () => {
      if (ownsFactory) awsClients.destroy();
    },
  };
}
