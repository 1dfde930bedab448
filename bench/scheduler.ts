/**
 * Scheduler + worker throughput: one DAG of N no-op tasks (a root fanning out to chains of 5 that
 * fan in to a final join) run by one scheduler and W workers in this process, on the MongoDB at
 * MONGODB_URI (default the local test server). Prints ONE JSON object:
 *   tis_per_s, tasks, workers, wall_ms, transitions, round_trips, round_trips_per_transition,
 *   commands (by name), server.
 * Round trips are counted with the driver's command monitoring (`monitorCommands: true`) over the
 * run itself (set-up excluded). Usage: npx tsx bench/scheduler.ts [--tasks N] [--workers W] [--slots S]
 * BENCH_PROFILE=1 adds time by command shape (see command-profile.ts).
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { DAG, task, type BaseOperator } from '../src/dag/index.ts';
import { DagBag } from '../src/dag-processing/dag-bag.ts';
import { createLogger } from '../src/log/logger.ts';
import { Scheduler } from '../src/scheduler/scheduler.ts';
import { Store } from '../src/store/store.ts';
import { StateChangeBus } from '../src/store/state-change-bus.ts';
import { DagRunTransitions } from '../src/store/transitions/dag-run-transitions.ts';
import { needsDocLocks } from '../src/store/transitions/atomic-updater.ts';
import { Worker } from '../src/worker/worker.ts';
import { profileCommands } from './command-profile.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const N = Math.max(3, arg('tasks', 500));
const W = Math.max(1, arg('workers', 2));
const SLOTS = Math.max(1, arg('slots', 16));
const CHAIN = 5;

const dag = new DAG({ dagId: 'bench_noop', maxActiveTasks: 100_000, maxActiveRuns: 1 }, () => {
  const root = task('root', () => undefined);
  const join = task('join', () => undefined, { trigger_rule: 'all_done' });
  let made = 2;
  let c = 0;
  while (made < N) {
    let prev: BaseOperator = root;
    for (let i = 0; i < CHAIN && made < N; i++, made++) {
      const t = task(`c${c}_${i}`, () => undefined);
      prev.then(t);
      prev = t;
    }
    prev.then(join);
    c++;
  }
});

const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';
const client = new MongoClient(uri, { monitorCommands: true, maxPoolSize: 50 });
await client.connect();
const dbName = `deferflow_bench_${randomBytes(4).toString('hex')}`;
const store = await Store.fromClient(client, dbName);
const logger = createLogger({ level: 'warn', format: 'json', destination: process.stderr });
const bus = new StateChangeBus();
const bag = DagBag.fromDags([dag]);
await bag.syncToStore(store);
await store.dags.updateMany({}, { $set: { is_paused: false } });
const locks = await needsDocLocks(store.db);

const commands = new Map<string, number>();
let counting = false;
client.on('commandStarted', (e) => {
  if (counting) commands.set(e.commandName, (commands.get(e.commandName) ?? 0) + 1);
});
// BENCH_PROFILE=1: print every scheduler loop to stderr, and add a `profile` to the JSON: round
// trips and their time by command shape (command, collection, filter keys).
const profile = process.env.BENCH_PROFILE ? profileCommands(client, () => counting) : null;
let transitions = 0;
bus.changes$.subscribe((c) => {
  if (counting && c.kind === 'task_instance') transitions++;
});

let t0 = 0;
const loops: number[] = [];
const scheduler = new Scheduler({
  store,
  dagBag: bag,
  bus,
  logger,
  loopIntervalMs: 100,
  metrics: {
    loop: (r) => {
      loops.push(r.loopMs);
      if (process.env.BENCH_PROFILE) console.error('LOOP', Math.round(performance.now() - t0), JSON.stringify(r));
    },
  },
});
const workers = Array.from(
  { length: W },
  (_, i) => new Worker({ store, dagBag: bag, bus, logger, slots: SLOTS, pollIntervalMs: 100, id: `bench-worker-${i}` }),
);

counting = true;
t0 = performance.now();
await scheduler.start();
for (const w of workers) await w.start();
const logical = new Date();
const run = await new DagRunTransitions(store, bus).create({
  dagId: 'bench_noop',
  runId: 'bench',
  runType: 'manual',
  logicalDate: logical,
  dataInterval: { start: logical, end: logical },
});
const finished = await new Promise<string>((resolve) => {
  const sub = bus.changes$.subscribe((c) => {
    if (c.kind === 'dag_run' && c.run._id === run._id && (c.run.state === 'success' || c.run.state === 'failed')) {
      sub.unsubscribe();
      resolve(c.run.state);
    }
  });
});
const wallMs = performance.now() - t0;
counting = false;

for (const w of workers) await w.stop();
await scheduler.stop();
const succeeded = await store.taskInstances.countDocuments({ state: 'success' });
await store.dropDatabase();
await client.close();

const roundTrips = [...commands.values()].reduce((a, b) => a + b, 0);
console.log(
  JSON.stringify({
    tis_per_s: Math.round((N / wallMs) * 1000 * 10) / 10,
    tasks: N,
    workers: W,
    slots_per_worker: SLOTS,
    wall_ms: Math.round(wallMs),
    run_state: finished,
    tis_succeeded: succeeded,
    transitions,
    round_trips: roundTrips,
    round_trips_per_transition: Math.round((roundTrips / Math.max(1, transitions)) * 100) / 100,
    round_trips_per_ti: Math.round((roundTrips / N) * 100) / 100,
    commands: Object.fromEntries([...commands].sort((a, b) => b[1] - a[1])),
    scheduler_loops: loops.length,
    scheduler_loop_ms_avg: Math.round(loops.reduce((a, b) => a + b, 0) / Math.max(1, loops.length)),
    server: locks ? 'ferretdb (per-document write locks on)' : 'mongodb',
    ...(profile ? { profile: profile.snapshot() } : {}),
  }),
);
