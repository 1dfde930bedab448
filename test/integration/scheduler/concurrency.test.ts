/**
 * Several schedulers, workers and triggerers on one database (issue 10.7): three Runtimes — each
 * a process's worth of scheduler + worker + triggerer with its own state-change bus — run two DAG
 * runs of no-op tasks and deferring SageMaker trainings (real local AWS jobs, their events through
 * EventBridge → SQS, every event delivered twice), while one runtime's worker dies mid-run. Every
 * task-instance transition any of them makes is counted from the three buses, and the test fails
 * on any double: one row version written twice, a try started twice, a deferral resumed twice, a
 * resume claimed twice, a task's execute or resume method run twice, a job submitted twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListTrainingJobsCommand } from '@aws-sdk/client-sagemaker';
import { DAG, task, type TaskContext } from '../../../src/dag/index.ts';
import { Runtime } from '../../../src/runtime/runtime.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { setupSageMakerEvents } from '../../../src/providers/aws/setup-events.ts';
import { SageMakerTrainingOperatorAsync } from '../../../src/providers/aws/operators/sagemaker-training-operator-async.ts';
import { SqsEventSource } from '../../../triggerer/sources/sqs-event-source.ts';
import { TI_EDGE_TABLE } from '../../../src/store/transitions/task-instance-edges.ts';
import type { TaskInstanceDoc, TaskInstanceState } from '../../../src/store/schema.ts';
import { CONN_ID, startHarness, trainingConfig, uploadIris, type Harness } from '../providers/aws/harness.ts';
import { poller } from '../../support/wait-for.ts';

const logger = createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'silent', format: 'json' });
const waitFor = poller({ timeoutMs: 120_000, intervalMs: 50 });
const NOOPS = 30;
const TRAININGS = 6;

/** Runs of each try's execute / resume method, by `ti|try|method`. */
const calls = new Map<string, number>();
const count = (key: string): void => {
  calls.set(key, (calls.get(key) ?? 0) + 1);
};

class CountedTraining extends SageMakerTrainingOperatorAsync {
  override async execute(ctx: TaskContext): Promise<Record<string, unknown>> {
    count(`${ctx.run_id}/${ctx.ti.task_id}|${ctx.ti.try_number}|execute`);
    return super.execute(ctx);
  }
  override async execute_complete(ctx: TaskContext, kwargs: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    count(`${ctx.run_id}/${ctx.ti.task_id}|${ctx.ti.try_number}|resume`);
    return super.execute_complete(ctx, kwargs);
  }
}

let h: Harness;
const runtimes: Runtime[] = [];
const seen: Array<{ runtime: number; previous: TaskInstanceState | undefined; ti: TaskInstanceDoc }> = [];

function buildDag(train: string): DAG {
  return new DAG({ dagId: 'conc', schedule: null, startDate: '2025-01-01', maxActiveTasks: 1000, defaultArgs: { retries: 2, retry_delay: 0 } }, () => {
    const root = task('root', (ctx) => count(`${ctx.run_id}/root|${ctx.ti.try_number}|execute`));
    const join = task('join', (ctx) => count(`${ctx.run_id}/join|${ctx.ti.try_number}|execute`));
    for (let i = 0; i < NOOPS; i++) {
      const t = task(`noop_${i}`, (ctx) => count(`${ctx.run_id}/noop_${i}|${ctx.ti.try_number}|execute`));
      root.then(t).then(join);
    }
    for (let i = 0; i < TRAININGS; i++) {
      const t = new CountedTraining({
        taskId: `train_${i}`,
        aws_conn_id: CONN_ID,
        check_interval: 0.1,
        print_log: false,
        config: trainingConfig(`conc-{{ params.name }}-${i}`, train),
      });
      root.then(t).then(join);
    }
  });
}

beforeAll(async () => {
  h = await startHarness('concurrency', { faults: { stageDelayMs: 15, simulateJobs: true, jobDurationMs: 1500, eventDuplicateRate: 1, seed: 11 } });
  const { train } = await uploadIris(h, 'conc');
  const events = await setupSageMakerEvents({ clients: h.clients, connId: CONN_ID, queueName: 'deferflow-concurrency' });
  for (let i = 0; i < 3; i++) {
    const rt = await Runtime.create({
      store: h.store,
      dags: [buildDag(train)],
      logger,
      services: { awsClients: h.clients },
      eventSources: [new SqsEventSource({ client: h.clients.sqs(CONN_ID), queueUrl: events.queueUrl, waitTimeSeconds: 1, visibilityTimeout: 10, logger })],
      pollChangesMs: null,
      components: {
        scheduler: { loopIntervalMs: 50 },
        worker: { pollIntervalMs: 50, slots: 6, leaseMs: 1500, heartbeatMs: 250, callbackSweepMs: 200 },
        triggerer: { pollIntervalMs: 50, heartbeatMs: 200 },
      },
    });
    rt.bus.changes$.subscribe((c) => {
      if (c.kind === 'task_instance') seen.push({ runtime: i, previous: c.previous, ti: c.ti });
    });
    runtimes.push(rt);
  }
  for (const rt of runtimes) await rt.start();
}, 120_000);

afterAll(async () => {
  for (const rt of runtimes) await rt.stop().catch(() => undefined);
  await h?.close();
});

describe('three schedulers, workers and triggerers on one database', () => {
  it('finish both runs with no transition, try, resume or job twice', async () => {
    const a = await runtimes[0]!.triggerDag('conc', { runId: 'run_a', conf: { name: 'a' } });
    const b = await runtimes[1]!.triggerDag('conc', { runId: 'run_b', conf: { name: 'b' } });
    // One process's worker dies once the first task deferred: its tries are reaped and retried elsewhere.
    await waitFor('a deferral', () => seen.some((s) => s.ti.state === 'deferred'));
    runtimes[2]!.worker!.simulateCrash();
    for (const run of [a, b]) {
      const done = await waitFor(`run ${run.run_id}`, async () => {
        const r = await h.store.dagRuns.findOne({ _id: run._id });
        return r && (r.state === 'success' || r.state === 'failed') ? r : null;
      });
      expect(done.state).toBe('success');
    }
    const rows = await h.store.taskInstances.find({ dag_id: 'conc' }).toArray();
    expect(rows).toHaveLength(2 * (NOOPS + TRAININGS + 2));
    expect(rows.every((r) => r.state === 'success')).toBe(true);

    // Every transition heard on any bus is an edge of the table, and no row version was written twice.
    const edges = new Set(Object.values(TI_EDGE_TABLE).flatMap((g) => g.from.flatMap((f) => g.to.map((t) => `${f}>${t}`))));
    const versions = new Map<string, number>();
    for (const s of seen) {
      if (s.previous !== undefined) expect(edges.has(`${s.previous}>${s.ti.state}`), `${s.previous} → ${s.ti.state}`).toBe(true);
      const key = `${s.ti._id}@${s.ti.version}`;
      versions.set(key, (versions.get(key) ?? 0) + 1);
    }
    expect([...versions].filter(([, n]) => n > 1)).toEqual([]);

    // A try is started once (a fresh claim per try number), a deferral resumed once and each resume
    // claimed once.
    const tally = (pred: (s: (typeof seen)[number]) => boolean, key: (ti: TaskInstanceDoc) => string) => {
      const m = new Map<string, number>();
      for (const s of seen.filter(pred)) m.set(key(s.ti), (m.get(key(s.ti)) ?? 0) + 1);
      return m;
    };
    const freshClaims = tally(
      (s) => s.previous === 'queued' && s.ti.state === 'running' && s.ti.next_method === null,
      (ti) => `${ti._id}|${ti.try_number}`,
    );
    expect([...freshClaims].filter(([, n]) => n > 1)).toEqual([]);
    const defers = tally(
      (s) => s.ti.state === 'deferred',
      (ti) => `${ti._id}|${ti.try_number}`,
    );
    const resumes = tally(
      (s) => s.previous === 'deferred' && s.ti.state === 'scheduled',
      (ti) => `${ti._id}|${ti.try_number}`,
    );
    const resumeClaims = tally(
      (s) => s.previous === 'queued' && s.ti.state === 'running' && s.ti.next_method !== null,
      (ti) => `${ti._id}|${ti.try_number}`,
    );
    for (const [k, n] of resumes) expect(n, `resumes of ${k}`).toBeLessThanOrEqual(defers.get(k) ?? 0);
    for (const [k, n] of resumeClaims) expect(n, `resume claims of ${k}`).toBeLessThanOrEqual(resumes.get(k) ?? 0);
    // The resume path was really exercised (a try retried after the crash may find its job ended
    // already and finish without deferring, so not every training task needs a resume).
    expect(resumes.size).toBeGreaterThanOrEqual(TRAININGS);

    // Each try's code ran once: execute once per try, the resume once per resume.
    expect([...calls].filter(([k, n]) => n > 1 && !k.endsWith('|resume'))).toEqual([]);
    for (const [k, n] of calls) {
      if (!k.endsWith('|resume')) continue;
      const [runTask, tryNumber] = k.split('|') as [string, string];
      const [runId, taskId] = runTask.split('/') as [string, string];
      expect(n, k).toBeLessThanOrEqual(resumeClaims.get(`conc|${runId}|${taskId}|${tryNumber}`) ?? 0);
    }

    // One SageMaker job per training task instance, whatever tries it took.
    const jobs = await h.clients.sagemaker(CONN_ID).send(new ListTrainingJobsCommand({ NameContains: 'conc-', MaxResults: 100 }));
    const perTask = new Map<string, number>();
    for (const j of jobs.TrainingJobSummaries ?? []) {
      const base = String(j.TrainingJobName).replace(/-\d{10}$/, '');
      perTask.set(base, (perTask.get(base) ?? 0) + 1);
    }
    expect(perTask.size).toBe(2 * TRAININGS);
    expect([...perTask].filter(([, n]) => n !== 1)).toEqual([]);
  }, 240_000);
});
