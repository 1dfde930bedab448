/**
 * The AWS provider's entries in the typed `Services` of tasks and triggers, and how its operators,
 * sensors and hooks reach them. There is no process-wide client factory: the composition root
 * builds one `AwsClientFactory` per process (stored connections, DEFERFLOW_CONN_*, the SDK chain,
 * AWS_ENDPOINT_URL*) and hands it over as `services.awsClients`.
 */
import { DeferflowError } from '../../errors/deferflow-error.ts';
import type { Services } from '../../services/services.ts';
import { currentTaskServices } from '../../services/task-scope.ts';
import { AwsClientFactory } from './aws-clients.ts';
import type { SageMakerWatcher } from './deferral/sagemaker-watcher.ts';

declare module '../../services/services.ts' {
  interface Services {
    /** SDK clients per (connection, region); the one way deferflow reaches AWS. */
    awsClients?: AwsClientFactory;
    /** Provided by the triggerer's SageMaker reconciler to SageMaker job triggers. */
    sagemakerWatcher?: SageMakerWatcher;
  }
}

/** The clients in `services`, or an error that says how the process was mis-assembled. */
export function requireAwsClients(services: Services | undefined, who: string): AwsClientFactory {
  const clients = services?.awsClients;
  if (clients) return clients;
  throw new DeferflowError('CONFIG_ERROR', `${who} needs AWS clients, but this process was assembled without them`, {
    hint: 'Run it under a Runtime, `deferflow worker` / `triggerer` / `standalone`, or pass services: { awsClients: AwsClientFactory.forStore(store) }.',
  });
}

/**
 * The clients a hook built inside a task uses: the running task's (see services/task-scope.ts).
 * Outside a task there is no store to read connections from, so a factory over the environment
 * alone (DEFERFLOW_CONN_*, the SDK chain) — made for that hook, not shared.
 */
export function clientsForHook(): AwsClientFactory {
  return currentTaskServices()?.awsClients ?? new AwsClientFactory();
}
