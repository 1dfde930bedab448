/**
 * Add a connection — `deferflow connections add`. As Airflow's: an id that exists is an error
 * (CONNECTION_EXISTS, whose hint names `connections delete`), with one exception: a connection
 * deferflow made itself for its embedded local AWS (`deferflow standalone` creates `aws_default`
 * and `aws-sagemaker`, marked by their description) is replaced. Following a guide's
 * `connections add aws_default …` on a fresh standalone then does what the user meant — the id
 * becomes theirs, and the standalone leaves it alone from then on (it re-points only connections
 * still carrying its mark). The replace is guarded on that mark, so a concurrent edit wins.
 */
import { ConnectionRepository } from '../../connections/connection-repository.ts';
import type { Connection, ConnectionInput } from '../../connections/connection.ts';
import { isManagedConnection, MANAGED_CONNECTION_DESCRIPTION } from '../../connections/managed-connections.ts';
import { isDeferflowError } from '../../errors/deferflow-error.ts';
import type { AppContext } from '../app-context.ts';

export interface AddedConnection {
  connection: Connection;
  /** True when it replaced a connection deferflow had made for its local AWS. */
  replacedManaged: boolean;
}

export async function addConnection(app: AppContext, input: ConnectionInput, repo = new ConnectionRepository(app.store)): Promise<AddedConnection> {
  try {
    return { connection: await repo.add(input), replacedManaged: false };
  } catch (e) {
    if (!(isDeferflowError(e) && e.code === 'CONNECTION_EXISTS')) throw e;
    const existing = await app.store.connections.findOne({ _id: input.conn_id }, { projection: { description: 1 } });
    if (!isManagedConnection(existing)) throw e;
    const replaced = await repo.replaceIfDescription(input, MANAGED_CONNECTION_DESCRIPTION);
    if (!replaced) throw e;
    return { connection: replaced, replacedManaged: true };
  }
}
