/**
 * Scheduler + worker throughput: one DAG of N no-op tasks (a root fanning out to chains of 5 that
 * fan in to a final join) run by one scheduler and W workers of S slots in this process, each with
 * its own MongoDB client and state-change bus as separate processes would have (`--shared-bus`:
 * one bus and one client, as `deferflow standalone` runs them). Prints ONE JSON object: TIs/s, wall
 * time, round trips / documents read / write statements per TI (driver command monitoring), this
 * process's CPU per TI, and the server's CPU per TI and share when the bench started the server.
 *
 *   npm run bench -- scheduler [--tasks 1000] [--workers 1] [--slots 32] [--shared-bus] [--shared-server] [--repeat 1]
 *
 * The server is a mongo-java-server of the bench's own (bench/support/mongo-java-server.ts) unless
 * `--shared-server` (MONGODB_URI) or its build is not cached; `--stock-planner` runs that server with
 * the library's own query planner (every guarded write a collection scan), for before/after rows.
 */
import { parseArgs } from 'node:util';
import { runNoop } from './measures/scheduler-worker.ts';
import { loadAverage, startOwnServer } from './support/mongo-java-server.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '1' },
    slots: { type: 'string', default: '32' },
    repeat: { type: 'string', default: '1' },
    'shared-bus': { type: 'boolean', default: false },
    'shared-server': { type: 'boolean', default: false },
    'stock-planner': { type: 'boolean', default: false },
  },
});

const own = values['shared-server'] ? null : await startOwnServer({ stockPlanner: values['stock-planner'] });
const uri = own?.uri ?? process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';
try {
  const runs = [];
  const loadBefore = loadAverage();
  for (let i = 0; i < Math.max(1, Number(values.repeat)); i++) {
    runs.push(
      await runNoop({
        uri,
        tasks: Number(values.tasks),
        workers: Number(values.workers),
        slots: Number(values.slots),
        sharedBus: values['shared-bus'],
        serverPid: own?.pid ?? null,
      }),
    );
  }
  const best = runs.reduce((a, b) => (b.tis_per_s > a.tis_per_s ? b : a));
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      server: own ? `mongo-java-server (own, ${values['stock-planner'] ? 'stock' : 'index-planned'} planner)` : 'MONGODB_URI',
      load_before: loadBefore,
      load_after: loadAverage(),
      tis_per_s_runs: runs.map((r) => r.tis_per_s),
      ...best,
    }),
  );
} finally {
  await own?.stop();
}
