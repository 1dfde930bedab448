/**
 * `tasks test` / `dags test` of an AWS-using DAG with no AWS configured and no running stack: start
 * a local AWS for the duration of the command, so the Airflow seed commands work on a laptop out of
 * the box (`deferflow tasks test sagemaker_training_dag train_task 2025-04-09`).
 *
 * The decision, in order:
 *  - the DAG names no `aws_conn_id` (no task or default arg)                 → nothing to do;
 *  - real AWS is configured (wantsLocalAws: AWS_* env, DEFERFLOW_LOCAL_AWS)  → nothing to do;
 *  - a `deferflow standalone` is running                                      → its connections
 *    (copied into the scratch database) already point at its local AWS;
 *  - every AWS connection the DAG names is the user's own (stored or DEFERFLOW_CONN_*) → respect it;
 *  - otherwise: local AWS on `$DEFERFLOW_HOME/local-aws` (so jobs persist between invocations and
 *    `action_if_job_exists` sees earlier jobs), the seed connections, demo data and variables —
 *    written into the command's *scratch* database only, never the deployment's.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { DAG } from '../dag/dag.ts';
import type { Store } from '../store/store.ts';
import { wantsLocalAws, type Settings } from '../config/settings.ts';
import { readStandaloneState } from './standalone-state-file.ts';
import { connectionFromEnv } from '../connections/connection-env.ts';
import { startLocalAws } from '../local-aws/index.ts';
import type { LocalAws } from '../local-aws/types.ts';
import { ensureLocalAwsConnections, LOCAL_AWS_KEYS, MANAGED_CONNECTION_DESCRIPTION } from './local-aws-connections.ts';
import { ensureDemoVariables, uploadDemoData } from './demo-data.ts';

/** The connection ids a DAG's tasks use (`aws_conn_id` args, default args included). */
export function awsConnIdsOf(dag: DAG): string[] {
  const ids = new Set<string>();
  for (const taskId of dag.taskIds) {
    const v = (dag.getTask(taskId).args as Record<string, unknown>).aws_conn_id;
    if (typeof v === 'string' && v) ids.add(v);
  }
  return [...ids].sort();
}

export interface LocalAwsForTest {
  localAws: LocalAws;
  connIds: string[];
  close(): Promise<void>;
}

/** Start a local AWS for a test command when the rules above say so; null when not needed. */
export async function provideLocalAwsForTest(opts: {
  settings: Settings;
  dag: DAG;
  store: Store;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}): Promise<LocalAwsForTest | null> {
  const env = opts.env ?? process.env;
  const connIds = awsConnIdsOf(opts.dag);
  if (connIds.length === 0 || !wantsLocalAws(opts.settings, env)) return null;
  if (readStandaloneState(opts.settings.home)) return null;
  const needed: string[] = [];
  for (const id of connIds) {
    if (connectionFromEnv(id, env)) continue;
    const doc = await opts.store.connections.findOne({ _id: id });
    if (!doc || doc.description === MANAGED_CONNECTION_DESCRIPTION) needed.push(id);
  }
  if (needed.length === 0) return null;

  const localAws = await startLocalAws({ dataDir: opts.settings.localAws.dataDir, port: 0, logger: opts.logger });
  const s3 = new S3Client({ endpoint: localAws.url, region: localAws.region, credentials: { ...LOCAL_AWS_KEYS }, forcePathStyle: true });
  try {
    await ensureLocalAwsConnections(opts.store, localAws.url, localAws.region, needed);
    await uploadDemoData(s3);
    await ensureDemoVariables(opts.store);
  } catch (e) {
    await localAws.close();
    throw e;
  } finally {
    s3.destroy();
  }
  return { localAws, connIds: needed, close: () => localAws.close() };
}
