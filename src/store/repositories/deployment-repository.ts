/**
 * The deployment's identity: a short id made once per database and read by every process that
 * shares it. It keeps deployments that share an AWS account apart: SageMaker jobs are tagged with
 * it, `aws setup-events` names its queue and rule after it (the rule matches only jobs carrying the
 * tag), and a triggerer consumes only that queue. `dags test` / `tasks test` run on a scratch
 * database and so are a deployment of their own (which also tells their jobs from the real ones).
 */
import { randomBytes } from 'node:crypto';
import type { DeploymentDoc } from '../schema.ts';
import type { Store } from '../store.ts';
import { isDuplicateKey } from '../transitions/duplicate-key.ts';

/** Letters and digits, 3–16: fits SQS queue and EventBridge rule names and SageMaker tag values. */
export const DEPLOYMENT_ID = /^[a-z0-9]{3,16}$/;

const cache = new WeakMap<Store, Promise<string>>();

/** This database's deployment id, made on first use (concurrent first uses agree: the row's _id is unique). */
export function deploymentIdOf(store: Store): Promise<string> {
  let p = cache.get(store);
  if (!p) {
    p = readOrCreate(store);
    cache.set(store, p);
    p.catch(() => cache.delete(store));
  }
  return p;
}

async function readOrCreate(store: Store): Promise<string> {
  const found = await store.deployment.findOne({ _id: 'deployment' });
  if (found) return found.deployment_id;
  const doc: DeploymentDoc = { _id: 'deployment', deployment_id: randomBytes(5).toString('hex'), created_at: new Date() };
  try {
    await store.deployment.insertOne(doc);
    return doc.deployment_id;
  } catch (e) {
    if (!isDuplicateKey(e)) throw e;
    const winner = await store.deployment.findOne({ _id: 'deployment' });
    if (!winner) throw e;
    return winner.deployment_id;
  }
}
