/**
 * What claiming triggers costs with shard leases, for `npm run bench -- round-trips`:
 *
 *   claim_triggers, claim_commands, claim_s, claim_triggers_per_s
 *       N deferred task instances and their N trigger rows (written as a deferring worker writes
 *       them: shard from the id, no owner; bulk-inserted as set-up, not measured), then ONE
 *       triggerer (capacity N, SageMaker job triggers with check_on_start off: no AWS call) starts
 *       and runs until it holds all N. Commands are counted with the driver's command monitoring on
 *       the triggerer's own client from start() until all N are held: leases, row reads, heartbeat.
 *       The first size (3,000 by default) is reported under the flat keys, every size under
 *       `claims`. `--claim-sizes 3000,100000` chooses them.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/log/logger.ts';
import { TriggererMetrics } from '../../src/metrics/triggerer-metrics.ts';
import { AwsClientFactory } from '../../src/providers/aws/aws-clients.ts';
import { awsDeferralProvider } from '../../src/providers/aws/deferral/aws-deferral-provider.ts';
import { Store } from '../../src/store/store.ts';
import { composeDeferral } from '../../src/triggers/deferral-provider.ts';
import { Triggerer } from '../../triggerer/triggerer.ts';
import { CommandCounter } from '../support/command-counter.ts';
import { deferredRows } from '../support/deferred-rows.ts';
import type { MeasureContext } from './measure-context.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function claimOnce(uri: string, n: number): Promise<Record<string, number>> {
  const dbName = `deferflow_bench_claims_${randomBytes(4).toString('hex')}`;
  const setup = await Store.connect({ uri, dbName });
  const client = new MongoClient(uri, { monitorCommands: true });
  await client.connect();
  const clients = new AwsClientFactory();
  let triggerer: Triggerer | null = null;
  try {
    const now = new Date();
    for (let start = 0; start < n; start += 5_000) {
      const r = deferredRows(start, Math.min(n, start + 5_000), now);
      await setup.taskInstances.insertMany(r.tis, { ordered: false });
      await setup.triggers.insertMany(r.triggers, { ordered: false });
    }
    const store = await Store.fromClient(client, dbName);
    const counter = new CommandCounter([client]);
    triggerer = new Triggerer({
      store,
      logger: createLogger({ level: 'warn', format: 'json', destination: process.stderr }),
      metrics: TriggererMetrics.for(new Registry()),
      capacity: n,
      pollIntervalMs: 1_000,
      heartbeatMs: 2_000,
      sweepIntervalMs: 3_600_000,
      deferral: composeDeferral([awsDeferralProvider(clients)]),
    });
    const rss0 = process.memoryUsage().rss;
    counter.start();
    const t0 = performance.now();
    await triggerer.start();
    while (triggerer.heldTriggers < n) {
      if (performance.now() - t0 > 20 * 60_000) throw new Error(`held only ${triggerer.heldTriggers} of ${n} after 20 min`);
      await sleep(20);
    }
    const claimMs = performance.now() - t0;
    const counts = counter.stop();
    return {
      claim_triggers: n,
      claim_commands: counts.roundTrips,
      claim_docs_read: counts.docsRead,
      claim_s: Math.round(claimMs / 10) / 100,
      claim_triggers_per_s: Math.round(n / (claimMs / 1000)),
      claim_rss_delta_mb: Math.round((process.memoryUsage().rss - rss0) / 2 ** 20),
    };
  } finally {
    await triggerer?.halt();
    clients.destroy();
    await setup.dropDatabase().catch(() => undefined);
    await setup.close();
    await client.close();
  }
}

export async function measure(ctx: MeasureContext): Promise<Record<string, unknown>> {
  const at = ctx.argv.indexOf('--claim-sizes');
  const sizes = (at >= 0 ? (ctx.argv[at + 1] ?? '') : '3000,100000')
    .split(',')
    .map(Number)
    .filter((x) => Number.isInteger(x) && x > 0);
  const claims: Array<Record<string, number>> = [];
  for (const n of sizes) claims.push(await claimOnce(ctx.uri, n));
  return { ...(claims[0] ?? {}), claims };
}
