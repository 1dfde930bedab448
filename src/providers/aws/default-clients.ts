/**
 * The process-wide AwsClientFactory used when a task or hook is not handed one explicitly
 * (`ctx.services.awsClients` is preferred). The runtime installs a factory backed by the store's
 * connections at start; before that, connections come only from DEFERFLOW_CONN_* variables.
 */
import { AwsClientFactory } from './aws-clients.ts';

let current: AwsClientFactory | null = null;

export function setDefaultAwsClientFactory(factory: AwsClientFactory | null): void {
  current = factory;
}

export function defaultAwsClientFactory(): AwsClientFactory {
  current ??= new AwsClientFactory();
  return current;
}
