/**
 * The deferral contract end to end with a real scheduler and worker; the test plays the
 * triggerer by calling TaskInstanceTransitions.resumeFromTrigger / failFromTrigger itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseOperator, DAG, type TaskContext } from '../../../src/dag/index.ts';
import type { OperatorArgs } from '../../../src/dag/task-args.ts';
import { Scheduler } from '../../../src/scheduler/scheduler.ts';
import { Worker } from '../../../src/worker/worker.ts';
import { TriggerTransitions } from '../../../src/store/transitions/trigger-transitions.ts';
import { XComRepository } from '../../../src/store/repositories/xcom-repository.ts';
import { TaskLogRepository } from '../../../src/store/repositories/task-log-repository.ts';
import type { TaskInstanceDoc } from '../../../src/store/schema.ts';
import { createHarness, type Harness } from '../scheduler/harness.ts';

const executions: Record<string, number> = {};
const resumes: Record<string, Array<Record<string, unknown>>> = {};

class WaitForJob extends BaseOperator {
  static override templateFields = ['job_name'] as const;
  job_name: string;
  private readonly triggerTimeout: number | null;
  constructor(args: OperatorArgs & { job_name: string; trigger_timeout?: number | null }) {
    const { job_name, trigger_timeout, ...rest } = args;
    super(rest);
    this.job_name = job_name;
    this.triggerTimeout = trigger_timeout ?? null;
  }
  override execute(ctx: TaskContext): never {
    executions[this.taskId] = (executions[this.taskId] ?? 0) + 1;
    ctx.log.info(`submitting ${this.job_name}`);
    return this.defer({
      trigger: { kind: 'test.manual', kwargs: { job: this.job_name } },
      method: 'onJobDone',
      kwargs: { job: this.job_name, submitted_in_try: ctx.ti.try_number },
      timeout: this.triggerTimeout,
    });
  }
  onJobDone(ctx: TaskContext, kwargs: Record<string, unknown>): unknown {
    (resumes[this.taskId] ??= []).push(kwargs);
    ctx.log.info('resumed');
    return kwargs.event;
  }
}

const dagOf = (id: string, args: Partial<OperatorArgs> & { trigger_timeout?: number | null } = {}): DAG =>
  new DAG({ dagId: `defer_${id}`, defaultArgs: { retry_delay: 0 } }, () => {
    new WaitForJob({ taskId: id, job_name: 'job-{{ run_id }}', ...args });
  });
/** What each typed `__fail__` reason made the try fail with (on_failure_callback's error). */
const failures: Record<string, { name: string; code?: string; message: string }> = {};
const recordFailure = (ctx: TaskContext, err?: unknown): void => {
  const e = err as Error & { code?: string };
  failures[ctx.ti.task_id] = { name: e.name, code: e.code, message: e.message };
};
const dags = {
  happy: dagOf('happy'),
  typed_trigger_timeout: dagOf('typed_trigger_timeout', { trigger_timeout: 0.2, on_failure_callback: recordFailure }),
  typed_manual: dagOf('typed_manual', { on_failure_callback: recordFailure }),
  fail_path: dagOf('fail_path', { retries: 1 }),
  trigger_timeout: dagOf('trigger_timeout', { trigger_timeout: 0.2 }),
  exec_timeout: dagOf('exec_timeout', { execution_timeout: 0.4 }),
};

let h: Harness;
let scheduler: Scheduler;
let worker: Worker;
let triggers: TriggerTransitions;

beforeAll(async () => {
  h = await createHarness('deferral', Object.values(dags));
  triggers = new TriggerTransitions(h.store, h.bus);
  scheduler = new Scheduler({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, loopIntervalMs: 50 });
  worker = new Worker({ store: h.store, dagBag: h.bag, bus: h.bus, logger: h.logger, slots: 2, pollIntervalMs: 30, logFlushMs: 50 });
  await scheduler.start();
  await worker.start();
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 500 });
  await scheduler?.stop();
  await h?.close();
});

const deferredTi = (dagId: string, runId: string, taskId: string, tryNumber: number): Promise<TaskInstanceDoc> =>
  h.waitFor(`${taskId} to defer (try ${tryNumber})`, async () => {
    const t = await h.store.taskInstances.findOne({ dag_id: dagId, run_id: runId, task_id: taskId });
    return t && t.state === 'deferred' && t.try_number === tryNumber ? t : null;
  });

describe('deferral', () => {
  it('defers with the trigger stored, the slot released and the try kept; resumes with kwargs.event', async () => {
    const run = await h.trigger('defer_happy', 'r1');
    const ti = await deferredTi('defer_happy', 'r1', 'happy', 1);
    expect(ti.worker_id).toBeNull();
    expect(ti.lease_token).toBeNull();
    expect(ti.next_method).toBe('onJobDone');
    expect(JSON.parse(ti.next_kwargs!)).toEqual({ job: 'job-r1', submitted_in_try: 1 });
    expect(JSON.parse(ti.rendered_fields!)).toEqual({ job_name: 'job-r1' });
    const trig = await h.store.triggers.findOne({ _id: ti.trigger_id! });
    expect(trig).toMatchObject({ kind: 'test.manual', task_instance_id: ti._id, triggerer_id: null, deadline: null });
    expect(JSON.parse(trig!.kwargs)).toEqual({ job: 'job-r1' });
    // The slot came back at once although the task is not finished.
    await h.waitFor('slot release', async () => worker.slotsInUse === 0);

    // Play the triggerer: the job finished.
    await new Promise((r) => setTimeout(r, 30));
    expect(await h.tis.resumeFromTrigger(ti.trigger_id!, { status: 'Completed', job: 'job-r1' })).not.toBeNull();
    await triggers.delete(ti.trigger_id!, 'fired');
    // A duplicate event resumes nothing.
    expect(await h.tis.resumeFromTrigger(ti.trigger_id!, { status: 'Completed' })).toBeNull();

    expect((await h.waitForRun('defer_happy', run.run_id)).state).toBe('success');
    const done = await h.ti('defer_happy', 'r1', 'happy');
    expect(done.try_number).toBe(1);
    expect(done.deferred_ms).toBeGreaterThanOrEqual(30);
    expect(executions.happy).toBe(1);
    expect(resumes.happy).toEqual([{ job: 'job-r1', submitted_in_try: 1, event: { status: 'Completed', job: 'job-r1' } }]);
    expect(await new XComRepository(h.store).pull('defer_happy', 'r1', 'happy')).toEqual({ status: 'Completed', job: 'job-r1' });
    // One try, one log: the resumed part continues the sequence of the first part.
    const log = await new TaskLogRepository(h.store).read(done._id, 1);
    expect(log.map((l) => l.seq)).toEqual(log.map((_, i) => i));
    expect(log.map((l) => l.msg)).toEqual(expect.arrayContaining(['submitting job-r1', 'resumed']));
  });

  it('a failed trigger resumes into __fail__, which uses the retries like any failure', async () => {
    await h.trigger('defer_fail_path', 'r2');
    const first = await deferredTi('defer_fail_path', 'r2', 'fail_path', 1);
    expect(await h.tis.failFromTrigger(first.trigger_id!, 'Trigger failed: job watcher crashed')).not.toBeNull();
    await triggers.delete(first.trigger_id!);
    // try 1 fails through the normal path → up_for_retry → try 2 runs execute again and defers.
    const second = await deferredTi('defer_fail_path', 'r2', 'fail_path', 2);
    expect(second.trigger_id).not.toBe(first.trigger_id);
    expect(executions.fail_path).toBe(2);
    const try1Log = await new TaskLogRepository(h.store).read(second._id, 1);
    expect(try1Log.map((l) => l.msg).join('\n')).toContain('Trigger failed: job watcher crashed');
    await h.tis.resumeFromTrigger(second.trigger_id!, { status: 'Completed' });
    expect((await h.waitForRun('defer_fail_path', 'r2')).state).toBe('success');
    expect(resumes.fail_path).toEqual([{ job: 'job-r2', submitted_in_try: 2, event: { status: 'Completed' } }]);
  });

  it('the scheduler fails a deferred task past its trigger timeout and deletes the trigger', async () => {
    await h.trigger('defer_trigger_timeout', 'r3');
    const ti = await deferredTi('defer_trigger_timeout', 'r3', 'trigger_timeout', 1);
    expect(ti.trigger_timeout).not.toBeNull();
    expect((await h.store.triggers.findOne({ _id: ti.trigger_id! }))?.deadline?.getTime()).toBe(ti.trigger_timeout!.getTime());
    expect((await h.waitForRun('defer_trigger_timeout', 'r3')).state).toBe('failed');
    const done = await h.ti('defer_trigger_timeout', 'r3', 'trigger_timeout');
    expect(done.state).toBe('failed');
    expect(done.last_error).toMatch(/^Trigger timeout/);
    expect(await h.store.triggers.findOne({ _id: ti.trigger_id! })).toBeNull();
    expect(resumes.trigger_timeout).toBeUndefined();
  });

  it('execution_timeout counts time spent deferred', async () => {
    await h.trigger('defer_exec_timeout', 'r4');
    const ti = await deferredTi('defer_exec_timeout', 'r4', 'exec_timeout', 1);
    expect(ti.execution_deadline!.getTime() - ti.start_date!.getTime()).toBe(400);
    expect((await h.waitForRun('defer_exec_timeout', 'r4')).state).toBe('failed');
    const done = await h.ti('defer_exec_timeout', 'r4', 'exec_timeout');
    expect(done.last_error).toMatch(/execution_timeout/);
    expect(done.try_number).toBe(1);
  });
});

describe('the typed __fail__ reason', () => {
  it('decides the error of the failed try: execution_timeout → TaskTimeout, trigger timeout → a TRIGGER_TIMEOUT error', async () => {
    await h.trigger('defer_typed_trigger_timeout', 'r5');
    expect((await h.waitForRun('defer_typed_trigger_timeout', 'r5')).state).toBe('failed');
    await h.waitFor('the failure callback', async () => failures.typed_trigger_timeout ?? null);
    expect(failures.typed_trigger_timeout).toMatchObject({
      name: 'DeferflowError',
      code: 'TRIGGER_TIMEOUT',
      message: expect.stringMatching(/^Trigger timeout: the trigger did not fire/),
    });
    // A task with no deadline of its own, resumed into __fail__ by its execution_timeout: only the
    // stored reason can make this a TaskTimeout (the message does not say so).
    await h.trigger('defer_typed_manual', 'r6');
    const ti = await deferredTi('defer_typed_manual', 'r6', 'typed_manual', 1);
    expect(ti.execution_deadline).toBeNull();
    const failed = await h.tis.failDeferredPastDeadline(ti, { kind: 'execution_timeout', message: 'deadline of the whole try passed' });
    expect(failed?.fail_reason).toEqual({ kind: 'execution_timeout', message: 'deadline of the whole try passed' });
    expect((await h.waitForRun('defer_typed_manual', 'r6')).state).toBe('failed');
    await h.waitFor('the failure callback', async () => failures.typed_manual ?? null);
    expect(failures.typed_manual).toEqual({ name: 'TaskTimeout', code: 'TASK_TIMEOUT', message: 'deadline of the whole try passed' });
  });

  it('is stored with the resume (the event keeps the message) and cleared when the try ends', async () => {
    await h.trigger('defer_happy', 'r7');
    const ti = await deferredTi('defer_happy', 'r7', 'happy', 1);
    const failed = await h.tis.failFromTrigger(ti.trigger_id!, { kind: 'trigger_timeout', message: 'Trigger timeout' });
    expect(failed?.fail_reason).toEqual({ kind: 'trigger_timeout', message: 'Trigger timeout' });
    expect(failed?.next_method).toBe('__fail__');
    expect(JSON.parse(failed!.trigger_event!)).toEqual({ error: 'Trigger timeout' });
    expect((await h.waitForRun('defer_happy', 'r7')).state).toBe('failed');
    const done = await h.ti('defer_happy', 'r7', 'happy');
    expect(done.fail_reason).toBeNull();
    expect(done.last_error).toBe('Trigger timeout');
  });
});
