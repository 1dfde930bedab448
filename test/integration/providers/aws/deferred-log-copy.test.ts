/**
 * print_log while deferred, piece by piece: the task-log seq scheme when the worker and the
 * triggerer write one try in turn (and overlap at the hand-offs), and DeferredLogCopy against a
 * real job's CloudWatch stream — a copy taken over by another triggerer continues from the stored
 * cursor, and the cursor it hands over leaves nothing for the resumed task to copy twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timer } from 'rxjs';
import { pino } from 'pino';
import { CreateTrainingJobCommand, type CreateTrainingJobCommandInput } from '@aws-sdk/client-sagemaker';
import { TaskLogRepository, type TaskLogTarget } from '../../../../src/store/repositories/task-log-repository.ts';
import { TaskLogSink } from '../../../../src/log/task-log-sink.ts';
import { DeferredLogCopy } from '../../../../src/providers/aws/deferral/deferred-log-copy.ts';
import { LogTailer } from '../../../../src/providers/aws/sagemaker/log-tailer.ts';
import { TRAINING_JOB } from '../../../../src/providers/aws/sagemaker/resources.ts';
import { CONN_ID, startHarness, trainingConfig, uploadIris, waitForTerminal, type Harness } from './harness.ts';
import { poller } from '../../../support/wait-for.ts';

const SLOW_IMAGE = 'local/slow-printer:1';
const LINES = 12;
const SCRIPT = `let i = 0; const t = setInterval(() => { i++; console.log('step ' + i); if (i === ${LINES}) { clearInterval(t); require('fs').writeFileSync(process.env.SM_MODEL_DIR + '/m.txt', 'ok'); } }, 100);`;
const GROUP = '/aws/sagemaker/TrainingJobs';
const logger = pino({ level: 'silent' });

let h: Harness;
let repo: TaskLogRepository;
let trainUri: string;

beforeAll(async () => {
  h = await startHarness('sm_log_copy', { scriptImages: { [SLOW_IMAGE]: { command: [process.execPath, '-e', SCRIPT, '--'] } } });
  repo = new TaskLogRepository(h.store);
  trainUri = (await uploadIris(h, 'iris-log')).train;
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const target = (task: string): TaskLogTarget => ({ ti_id: `d|r|${task}`, dag_id: 'd', run_id: 'r', task_id: task, try_number: 1 });

const waitFor = poller({ timeoutMs: 20_000, intervalMs: 20 });

describe('task log seq across writers', () => {
  it("a joining writer's lines sort after the owner's still-buffered lines and before its resumed lines", async () => {
    const t = target('seq');
    const ti = { _id: t.ti_id, dag_id: t.dag_id, run_id: t.run_id, task_id: t.task_id };
    const worker = new TaskLogSink({ repo, parent: logger, ti, tryNumber: 1, flushIntervalMs: 60_000 });
    worker.logger.info('submitting');
    worker.logger.info('deferring');
    // The triggerer starts copying before the worker flushed its last batch (the real race).
    const last = await repo.appendJoined(t, [{ msg: 'job line 1' }, { msg: 'job line 2' }], { cursor: { key: 'k', value: '{"s":"a"}' } });
    const again = await repo.appendJoined(t, [{ msg: 'job line 3' }], { after: last, cursor: { key: 'k', value: '{"s":"b"}' } });
    expect(again).toBeGreaterThan(last);
    await worker.close();
    const resumed = new TaskLogSink({ repo, parent: logger, ti, tryNumber: 1, lastSeq: await repo.lastSeq(t.ti_id, 1) });
    resumed.logger.info('resumed');
    await resumed.close();

    const lines = await repo.read(t.ti_id, 1);
    expect(lines.map((l) => l.msg)).toEqual(['submitting', 'deferring', 'job line 1', 'job line 2', 'job line 3', 'resumed']);
    const seqs = lines.map((l) => l.seq);
    expect(seqs.slice(0, 2)).toEqual([0, 1]); // a try written by the worker alone keeps 0, 1, 2 …
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(await repo.lastCursor(t.ti_id, 1, 'k')).toBe('{"s":"b"}');
    expect(await repo.lastCursor(t.ti_id, 1, 'other')).toBeNull();
    // Tailing after a joined line returns only what came later.
    expect((await repo.read(t.ti_id, 1, { afterSeq: again })).map((l) => l.msg)).toEqual(['resumed']);
  });

  it('joining writers of one process appending to one try at once (status lines and print_log) never share a seq', async () => {
    const t = target('together');
    // Started together, they read the same last seq and number in the same millisecond: the
    // SageMaker trigger's status line and its log copy's last batch did, and collided.
    const writers = Array.from({ length: 20 }, (_, w) => repo.appendJoined(t, [{ msg: `w${w} a` }, { msg: `w${w} b` }]));
    await Promise.all(writers);
    const lines = await repo.read(t.ti_id, 1);
    expect(lines).toHaveLength(40);
    expect(new Set(lines.map((l) => l.seq)).size).toBe(40);
    // Each append's lines stay in order, one right after the other.
    for (let w = 0; w < 20; w++) {
      const a = lines.find((l) => l.msg === `w${w} a`)!;
      const b = lines.find((l) => l.msg === `w${w} b`)!;
      expect(b.seq).toBe(a.seq + 1);
    }
  });
});

describe('DeferredLogCopy against a running job', () => {
  it('copies while the job runs; a copy taken over continues from the stored cursor; the handed cursor leaves nothing to copy twice', async () => {
    const job = 'log-copy-1';
    const config = trainingConfig(job, trainUri, { AlgorithmSpecification: { TrainingImage: SLOW_IMAGE, TrainingInputMode: 'File' } });
    config.ResourceConfig = { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 };
    config.StoppingCondition = { MaxRuntimeInSeconds: 600 };
    config.HyperParameters = { epochs: '3' };
    await h.clients.sagemaker(CONN_ID).send(new CreateTrainingJobCommand(config as unknown as CreateTrainingJobCommandInput));
    const t = target('copy');
    const make = () =>
      new DeferredLogCopy({
        logs: h.clients.logs(CONN_ID),
        repo,
        logGroup: GROUP,
        jobName: job,
        target: t,
        cursor: {},
        intervalMs: 40,
        at: (m) => timer(m),
        logger,
      });
    const stepsStored = async (): Promise<string[]> => (await repo.read(t.ti_id, 1)).map((l) => l.msg).filter((m) => m.startsWith('step '));

    // Triggerer A copies a few lines, then loses the trigger (adoption elsewhere).
    const a = make();
    await waitFor('lines copied by A', async () => (await stepsStored()).length >= 3);
    a.stop();
    await new Promise((r) => setTimeout(r, 100)); // adoption comes after A's heartbeats lapse, never mid-append
    // Triggerer B starts from the deferral's cursor ({}), but finds A's position in the task log.
    const b = make();
    await waitForTerminal(() => TRAINING_JOB.describe(h.clients.sagemaker(CONN_ID), job), 'TrainingJobStatus');
    await waitFor('every line copied', async () => (await stepsStored()).length >= LINES);
    await new Promise((r) => setTimeout(r, 150)); // a few more polls: nothing new to copy
    const cursor = await b.finish();

    expect(await stepsStored()).toEqual(Array.from({ length: LINES }, (_, i) => `step ${i + 1}`));
    // The resumed task continues from the handed cursor: nothing left.
    const printed: string[] = [];
    const resume = new LogTailer(h.clients.logs(CONN_ID), GROUP, job, pino({ level: 'info' }, { write: (l: string) => void printed.push(l) }), cursor);
    expect(await resume.poll()).toBe(0);
    expect(printed).toEqual([]);
    // Whereas from the deferral's cursor it would have copied every line again.
    expect(await new LogTailer(h.clients.logs(CONN_ID), GROUP, job, logger, {}).poll()).toBeGreaterThanOrEqual(LINES);
  }, 60_000);
});
