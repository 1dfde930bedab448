/**
 * What the scheduler and the worker cost per task instance, counted with the driver's command
 * monitoring (bench/support/command-counter.ts), for `npm run bench -- round-trips`:
 *
 *   round_trips_per_ti, docs_read_per_ti, client_cpu_ms_per_ti
 *       a no-op DAG of `tasks` (1,000) task instances — a root fanning out to chains of 5 that fan
 *       in to a join — run by one scheduler and one worker (32 slots), each with its own MongoDB
 *       client and state-change bus as separate processes would have (`sharedBus` runs them as one
 *       process, as `deferflow standalone` does). CPU is this process's (user + system): both
 *       processes' work, the driver and BSON included; the server runs elsewhere.
 *   writes_per_defer, writes_per_resume
 *       write statements per task instance of a DAG whose tasks defer on a short TimeDeltaTrigger
 *       and resume (scheduler, worker and triggerer in one Runtime): statements that insert a
 *       trigger or move a task instance to `deferred` count for the defer; those moving it
 *       deferred → scheduled or deleting its fired trigger count for the resume.
 *
 * `runNoop` is also what bench/scheduler.ts (the throughput bench) runs.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { BaseOperator, DAG, task, type TaskContext } from '../../src/dag/index.ts';
import type { OperatorArgs } from '../../src/dag/task-args.ts';
import { DagBag } from '../../src/dag-processing/dag-bag.ts';
import { createLogger } from '../../src/log/logger.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import { Store } from '../../src/store/store.ts';
import { StateChangeBus } from '../../src/store/state-change-bus.ts';
import { DagRunTransitions } from '../../src/store/transitions/dag-run-transitions.ts';
import { TimeDeltaTrigger } from '../../src/triggers/time-delta-trigger.ts';
import { Worker } from '../../src/worker/worker.ts';
import { profileCommands } from '../command-profile.ts';
import { CommandCounter, per, tiStates, type WriteStatement } from '../support/command-counter.ts';
import { processCpuMs } from '../support/mongo-java-server.ts';
import type { MeasureContext } from './measure-context.ts';

export interface NoopOptions {
  uri: string;
  tasks?: number;
  slots?: number;
  workers?: number;
  /** Scheduler and worker(s) on one bus and one client, as one process. */
  sharedBus?: boolean;
  /** The server's pid, to report its CPU next to ours. */
  serverPid?: number | null;
  /** Scheduler poll interval (ms) and worker claim poll interval (ms). */
  loopIntervalMs?: number;
  pollIntervalMs?: number;
  /** Extra scheduler options (e.g. knobs of the pass). */
  schedulerOptions?: Record<string, unknown>;
}

export interface NoopResult {
  tasks: number;
  workers: number;
  slots_per_worker: number;
  shared_bus: boolean;
  run_state: string;
  tis_succeeded: number;
  wall_ms: number;
  tis_per_s: number;
  round_trips: number;
  docs_read: number;
  write_statements: number;
  round_trips_per_ti: number;
  docs_read_per_ti: number;
  write_statements_per_ti: number;
  client_cpu_ms_per_ti: number;
  /** Server CPU ms per TI and its share of (ours + server's), when the server's pid is known. */
  server_cpu_ms_per_ti: number | null;
  server_cpu_share: number | null;
  commands: Record<string, number>;
  profile?: Array<Record<string, { n: number; ms: number; ms_avg: number }>>;
}

const CHAIN = 5;

/** root → ⌈(N−2)/5⌉ chains of ≤ 5 → join (all_done), N task instances in all, every task a no-op. */
export function noopDag(dagId: string, n: number): DAG {
  return new DAG({ dagId, maxActiveTasks: 100_000, maxActiveRuns: 1 }, () => {
    const root = task('root', () => undefined);
    const join = task('join', () => undefined, { trigger_rule: 'all_done' });
    let made = 2;
    let c = 0;
    while (made < n) {
      let prev: BaseOperator = root;
      for (let i = 0; i < CHAIN && made < n; i++, made++) {
        const t = task(`c${c}_${i}`, () => undefined);
        prev.then(t);
        prev = t;
      }
      prev.then(join);
      c++;
    }
  });
}

export async function runNoop(opts: NoopOptions): Promise<NoopResult> {
  const n = Math.max(3, opts.tasks ?? 1000);
  const slots = opts.slots ?? 32;
  const workerCount = opts.workers ?? 1;
  const shared = opts.sharedBus ?? false;
  const dag = noopDag('bench_noop', n);
  const dbName = `deferflow_bench_${randomBytes(4).toString('hex')}`;
  const logger = createLogger({ level: 'warn', format: 'json', destination: process.stderr });
  const mk = () => new MongoClient(opts.uri, { monitorCommands: true, maxPoolSize: 50 });
  const schedClient = mk();
  const workerClients = shared ? [] : Array.from({ length: workerCount }, mk);
  await Promise.all([schedClient, ...workerClients].map((c) => c.connect()));
  const schedStore = await Store.fromClient(schedClient, dbName);
  const schedBus = new StateChangeBus();
  const bag = DagBag.fromDags([dag]);
  await bag.syncToStore(schedStore);
  await schedStore.dags.updateMany({}, { $set: { is_paused: false } });
  const counter = new CommandCounter([schedClient, ...workerClients]);
  // BENCH_PROFILE=1: time by command shape (bench/command-profile.ts) in the result.
  let profiling = false;
  const profiles = process.env.BENCH_PROFILE ? [schedClient, ...workerClients].map((c) => profileCommands(c, () => profiling)) : [];

  const scheduler = new Scheduler({
    store: schedStore,
    dagBag: bag,
    bus: schedBus,
    logger,
    loopIntervalMs: opts.loopIntervalMs ?? 100,
    ...(opts.schedulerOptions ?? {}),
  });
  const workers: Worker[] = [];
  for (let i = 0; i < workerCount; i++) {
    const store = shared ? schedStore : await Store.fromClient(workerClients[i]!, dbName);
    workers.push(
      new Worker({
        store,
        dagBag: bag,
        bus: shared ? schedBus : new StateChangeBus(),
        logger,
        slots,
        pollIntervalMs: opts.pollIntervalMs ?? 100,
        id: `bench-worker-${i}`,
      }),
    );
  }

  const finished = new Promise<string>((resolve) => {
    const sub = schedBus.changes$.subscribe((c) => {
      if (c.kind === 'dag_run' && c.run.dag_id === 'bench_noop' && (c.run.state === 'success' || c.run.state === 'failed')) {
        sub.unsubscribe();
        resolve(c.run.state);
      }
    });
  });
  const serverCpu0 = opts.serverPid ? processCpuMs(opts.serverPid) : null;
  const cpu0 = process.cpuUsage();
  counter.start();
  profiling = true;
  const t0 = performance.now();
  await scheduler.start();
  for (const w of workers) await w.start();
  const logical = new Date();
  // The API's write (another process): no bus, the scheduler finds the run by itself.
  await new DagRunTransitions(schedStore).create({
    dagId: 'bench_noop',
    runId: 'bench',
    runType: 'manual',
    logicalDate: logical,
    dataInterval: { start: logical, end: logical },
  });
  const runState = await finished;
  const wallMs = performance.now() - t0;
  const counts = counter.stop();
  profiling = false;
  const cpu = process.cpuUsage(cpu0);
  const serverCpu1 = opts.serverPid ? processCpuMs(opts.serverPid) : null;

  for (const w of workers) await w.stop();
  await scheduler.stop();
  const succeeded = await schedStore.taskInstances.countDocuments({ state: 'success' });
  await schedStore.dropDatabase();
  await Promise.all([schedClient, ...workerClients].map((c) => c.close()));

  const clientCpuMs = (cpu.user + cpu.system) / 1000;
  const serverCpuMs = serverCpu0 !== null && serverCpu1 !== null ? serverCpu1 - serverCpu0 : null;
  return {
    tasks: n,
    workers: workerCount,
    slots_per_worker: slots,
    shared_bus: shared,
    run_state: runState,
    tis_succeeded: succeeded,
    wall_ms: Math.round(wallMs),
    tis_per_s: Math.round((n / wallMs) * 1000 * 10) / 10,
    round_trips: counts.roundTrips,
    docs_read: counts.docsRead,
    write_statements: counts.writeStatements,
    round_trips_per_ti: per(counts.roundTrips, n),
    docs_read_per_ti: per(counts.docsRead, n),
    write_statements_per_ti: per(counts.writeStatements, n),
    client_cpu_ms_per_ti: per(clientCpuMs, n, 3),
    server_cpu_ms_per_ti: serverCpuMs === null ? null : per(serverCpuMs, n, 3),
    server_cpu_share: serverCpuMs === null ? null : per(serverCpuMs, serverCpuMs + clientCpuMs, 3),
    commands: Object.fromEntries(Object.entries(counts.byCommand).sort((a, b) => b[1] - a[1])),
    ...(profiles.length ? { profile: profiles.map((p) => p.snapshot()) } : {}),
  };
}

/** A task that defers on a short timer and succeeds when resumed. */
class Nap extends BaseOperator {
  constructor(args: OperatorArgs) {
    super(args);
  }
  override execute(_ctx: TaskContext): never {
    return this.defer({ trigger: new TimeDeltaTrigger(50), method: 'wake' });
  }
  wake(): undefined {
    return undefined;
  }
}

/** Which piece of work a write statement is part of: a deferral, a resume, or neither. */
export function deferralLabel(s: WriteStatement): 'defer' | 'resume' | null {
  if (s.collection === 'triggers') {
    if (s.command === 'insert') return 'defer';
    if (s.command === 'delete') return 'resume';
    return null;
  }
  if (s.collection !== 'task_instances') return null;
  const { from, to } = tiStates(s);
  if (to === 'deferred') return 'defer';
  if (from === 'deferred' && to === 'scheduled') return 'resume';
  return null;
}

export async function runDeferrals(opts: { uri: string; tasks?: number }): Promise<Record<string, number>> {
  const n = opts.tasks ?? 50;
  const dag = new DAG({ dagId: 'bench_defer', maxActiveTasks: 100_000 }, () => {
    for (let i = 0; i < n; i++) new Nap({ taskId: `nap_${i}` });
  });
  const client = new MongoClient(opts.uri, { monitorCommands: true, maxPoolSize: 50 });
  await client.connect();
  const store = await Store.fromClient(client, `deferflow_bench_defer_${randomBytes(4).toString('hex')}`);
  const counter = new CommandCounter([client], deferralLabel);
  const logger = createLogger({ level: 'warn', format: 'json', destination: process.stderr });
  const rt = await Runtime.create({
    store,
    dags: [dag],
    logger,
    components: { worker: { slots: 32, pollIntervalMs: 100 }, scheduler: { loopIntervalMs: 100 } },
  });
  try {
    await rt.start();
    counter.start();
    const run = await rt.triggerDag('bench_defer');
    const done = await rt.waitForRun('bench_defer', run.run_id, { timeoutMs: 120_000 });
    const counts = counter.stop();
    const deferred = await store.taskInstances.countDocuments({ dag_id: 'bench_defer', state: 'success', deferred_ms: { $gt: 0 } });
    return {
      defer_tasks: n,
      defer_run_succeeded: done.state === 'success' ? 1 : 0,
      defer_tasks_resumed: deferred,
      writes_per_defer: per(counts.byLabel.defer ?? 0, n),
      writes_per_resume: per(counts.byLabel.resume ?? 0, n),
      round_trips_per_deferring_ti: per(counts.roundTrips, n),
      write_statements_per_deferring_ti: per(counts.writeStatements, n),
    };
  } finally {
    await rt.stop();
    await store.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

export async function measure(ctx: MeasureContext): Promise<Record<string, unknown>> {
  const noop = await runNoop({ uri: ctx.uri, tasks: 1000, slots: 32, serverPid: ctx.serverPid });
  const defer = await runDeferrals({ uri: ctx.uri });
  return {
    round_trips_per_ti: noop.round_trips_per_ti,
    docs_read_per_ti: noop.docs_read_per_ti,
    client_cpu_ms_per_ti: noop.client_cpu_ms_per_ti,
    writes_per_defer: defer.writes_per_defer,
    writes_per_resume: defer.writes_per_resume,
    noop_run: noop,
    deferral_run: defer,
  };
}
