/**
 * Shared set-up of the scheduler / worker integration tests: a fresh database on the real test
 * server (FerretDB in CI), a state-change bus, a quiet logger, DAGs synced and unpaused, and helpers
 * to trigger runs and wait for states. Not a test file itself.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createLogger } from '../../../src/log/logger.ts';
import { Store } from '../../../src/store/store.ts';
import { StateChangeBus } from '../../../src/store/state-change-bus.ts';
import { DagRunTransitions } from '../../../src/store/transitions/dag-run-transitions.ts';
import { TaskInstanceTransitions } from '../../../src/store/transitions/task-instance-transitions.ts';
import { DagBag } from '../../../src/dag-processing/dag-bag.ts';
import type { DAG } from '../../../src/dag/dag.ts';
import type { DagRunDoc, TaskInstanceDoc } from '../../../src/store/schema.ts';

export const MONGODB_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';

export interface Harness {
  store: Store;
  bus: StateChangeBus;
  logger: Logger;
  bag: DagBag;
  runs: DagRunTransitions;
  tis: TaskInstanceTransitions;
  trigger(dagId: string, runId?: string, logicalDate?: Date): Promise<DagRunDoc>;
  waitForRun(dagId: string, runId: string, timeoutMs?: number): Promise<DagRunDoc>;
  waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs?: number): Promise<T>;
  tiStates(dagId: string, runId: string): Promise<Record<string, string | null>>;
  ti(dagId: string, runId: string, taskId: string): Promise<TaskInstanceDoc>;
  close(): Promise<void>;
}

export async function createHarness(name: string, dags: DAG[]): Promise<Harness> {
  const store = await Store.connect({ uri: MONGODB_URI, dbName: `deferflow_test_${name}_${randomBytes(4).toString('hex')}` });
  const bus = new StateChangeBus();
  const logger = createLogger({ level: process.env.DEFERFLOW_LOG_LEVEL ?? 'warn', format: 'json' });
  const bag = DagBag.fromDags(dags);
  await bag.syncToStore(store);
  await store.dags.updateMany({}, { $set: { is_paused: false } });
  const runs = new DagRunTransitions(store, bus);
  const tis = new TaskInstanceTransitions(store, bus);
  let seq = 0;
  const waitFor = async <T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v as T;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    store,
    bus,
    logger,
    bag,
    runs,
    tis,
    trigger: (dagId, runId, logicalDate) => {
      seq += 1;
      const when = logicalDate ?? new Date(Date.UTC(2025, 0, 1) + seq * 1000);
      return runs.create({ dagId, runId: runId ?? `manual__${seq}`, runType: 'manual', logicalDate: when, dataInterval: { start: when, end: when } });
    },
    waitForRun: (dagId, runId, timeoutMs) =>
      waitFor(
        `run ${dagId}/${runId} to finish`,
        async () => {
          const r = await store.dagRuns.findOne({ dag_id: dagId, run_id: runId });
          return r && (r.state === 'success' || r.state === 'failed') ? r : null;
        },
        timeoutMs,
      ),
    waitFor,
    tiStates: async (dagId, runId) => {
      const out: Record<string, string | null> = {};
      for (const t of await store.taskInstances.find({ dag_id: dagId, run_id: runId }).toArray()) out[t.task_id] = t.state;
      return out;
    },
    ti: async (dagId, runId, taskId) => {
      const t = await store.taskInstances.findOne({ dag_id: dagId, run_id: runId, task_id: taskId });
      if (!t) throw new Error(`no task instance ${dagId}/${runId}/${taskId}`);
      return t;
    },
    close: async () => {
      await store.dropDatabase().catch(() => undefined);
      await store.close();
    },
  };
}
