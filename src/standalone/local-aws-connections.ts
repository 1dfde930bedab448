/**
 * The AWS connections the seed DAGs name (`aws_default`, `aws-sagemaker`), pointed at the embedded
 * local AWS. A connection the user made is never touched; one this module made earlier (recognised
 * by its description) is re-pointed, because the local AWS may listen on another port after a
 * restart and a stale endpoint would send every task to a dead port.
 */
import type { Store } from '../store/store.ts';
import { ConnectionRepository } from '../connections/connection-repository.ts';
import { isManagedConnection, MANAGED_CONNECTION_DESCRIPTION } from '../connections/managed-connections.ts';

export const LOCAL_AWS_CONN_IDS = ['aws_default', 'aws-sagemaker'] as const;

/** Marks connections this module owns; edit the description (or `connections add` the id) to take one over. */
export { MANAGED_CONNECTION_DESCRIPTION } from '../connections/managed-connections.ts';

/** The local AWS accepts any keys; these make the SDK skip its credential chain. */
export const LOCAL_AWS_KEYS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

export type ConnectionOutcome = 'created' | 'updated' | 'kept';

export async function ensureLocalAwsConnections(
  store: Store,
  endpointUrl: string,
  region: string,
  connIds: ReadonlyArray<string> = LOCAL_AWS_CONN_IDS,
  repo: ConnectionRepository = new ConnectionRepository(store),
): Promise<Record<string, ConnectionOutcome>> {
  const outcomes: Record<string, ConnectionOutcome> = {};
  for (const connId of connIds) {
    // Only the stored definition counts here: a DEFERFLOW_CONN_* override is the user's choice too.
    const existing = await store.connections.findOne({ _id: connId });
    if (existing && !isManagedConnection(existing)) {
      outcomes[connId] = 'kept';
      continue;
    }
    await repo.upsert({
      conn_id: connId,
      conn_type: 'aws',
      description: MANAGED_CONNECTION_DESCRIPTION,
      login: LOCAL_AWS_KEYS.accessKeyId,
      password: LOCAL_AWS_KEYS.secretAccessKey,
      extra: { endpoint_url: endpointUrl, region_name: region },
    });
    outcomes[connId] = existing ? 'updated' : 'created';
  }
  return outcomes;
}
