/**
 * Copy a deployment's variables and connections into another database (a scratch database for
 * `dags test` / `tasks test`). Documents are copied as they are: connection secrets stay encrypted
 * under the same secret key.
 */
import type { Store } from '../store.ts';

export async function copyVariablesAndConnections(from: Store, to: Store): Promise<void> {
  const vars = await from.variables.find({}).toArray();
  if (vars.length) await to.variables.insertMany(vars);
  const conns = await from.connections.find({}).toArray();
  if (conns.length) await to.connections.insertMany(conns);
}
