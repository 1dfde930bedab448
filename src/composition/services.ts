/**
 * The services tasks (`ctx.services`) and triggers get, as they are today: a record by name. The
 * one default made here is `awsClients`, an AwsClientFactory over the stored connections, also
 * installed as the process-wide default for hooks and operators built without one; both are
 * undone on close. (How services are typed and wired beyond this is the deferral work's to change;
 * this is the single place to change it.)
 */
import { ConnectionRepository } from '../connections/connection-repository.ts';
import { AwsClientFactory } from '../providers/aws/aws-clients.ts';
import { setDefaultAwsClientFactory } from '../providers/aws/default-clients.ts';
import type { Store } from '../store/store.ts';

export type Services = Record<string, unknown>;

export interface ProcessServices {
  services: Services;
  awsClients: AwsClientFactory;
  close(): void;
}

export function processServices(store: Store, given: Services): ProcessServices {
  if (given.awsClients instanceof AwsClientFactory) return { services: { ...given }, awsClients: given.awsClients, close: () => undefined };
  const awsClients = new AwsClientFactory({ connections: new ConnectionRepository(store) });
  setDefaultAwsClientFactory(awsClients);
  return {
    services: { ...given, awsClients: given.awsClients ?? awsClients },
    awsClients,
    close: () => {
      awsClients.destroy();
      setDefaultAwsClientFactory(null);
    },
  };
}
