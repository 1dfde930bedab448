/**
 * The account of one finished DAG run that `deferflow start` ends with: per task its state, how
 * long it held a worker slot (running_ms) against how long it waited deferred (deferred_ms) and
 * how long its SageMaker job ran (from SageMaker's own Describe), plus the run's accuracy and
 * where its artifacts are. The slot-vs-job columns are the point of deferral made visible.
 */
import { join } from 'node:path';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DAG } from '../dag/dag.ts';
import type { Store } from '../store/store.ts';
import type { TaskInstanceDoc, XComDoc } from '../store/schema.ts';
import { TaskLogRepository } from '../store/repositories/task-log-repository.ts';
import { XComRepository } from '../store/repositories/xcom-repository.ts';
import { runWithTaskInstances } from '../app/queries/dag-run-queries.ts';
import { PROCESSING_JOB, TRAINING_JOB, TRANSFORM_JOB, TUNING_JOB, type Description, type SageMakerResource } from '../providers/aws/sagemaker/resources.ts';
import { maskSecrets } from '../connections/secret-masker.ts';
import { objectBasePath } from '../local-aws/s3/keys.ts';

/** The job kinds by the key their operator's return value uses (`{Training: describe}`). */
const KINDS_BY_LABEL: Record<string, SageMakerResource> = {
  Training: TRAINING_JOB,
  Transform: TRANSFORM_JOB,
  Processing: PROCESSING_JOB,
  Tuning: TUNING_JOB,
};

/** When each kind's job stopped running (the first field present wins). */
const END_FIELDS: Record<string, string[]> = {
  Training: ['TrainingEndTime', 'LastModifiedTime'],
  Transform: ['TransformEndTime'],
  Processing: ['ProcessingEndTime', 'LastModifiedTime'],
  Tuning: ['HyperParameterTuningEndTime', 'LastModifiedTime'],
};

export interface JobAccount {
  kind: string;
  name: string;
  status: string | null;
  /** CreationTime → end, seconds: what a non-deferrable operator would have held a slot for. */
  seconds: number | null;
}

export interface TaskAccount {
  task_id: string;
  state: string | null;
  try_number: number;
  /** Wall time of the task, start to end, seconds. */
  duration_s: number | null;
  /** Worker slot-seconds used. */
  running_s: number;
  /** Seconds spent deferred (no slot held). */
  deferred_s: number;
  job: JobAccount | null;
}

export interface RunArtifacts {
  model_s3_uri: string | null;
  predictions_s3_uri: string | null;
  /** Local AWS only: the folder holding its S3 buckets (`<bucket>/<key>!obj` below it). */
  local_s3_dir: string | null;
  /** Local AWS only: the files holding those two objects' bytes. */
  model_local_path: string | null;
  predictions_local_path: string | null;
}

export interface RunSummary {
  dag_id: string;
  run_id: string;
  state: string;
  tasks: TaskAccount[];
  totals: { running_s: number; deferred_s: number; job_s: number };
  accuracy: number | null;
  artifacts: RunArtifacts;
  /** The first failed task and the tail of its log (failed runs only). */
  failure: { task_id: string; error: string | null; log_tail: string[] } | null;
}

export interface SummaryInput {
  store: Store;
  dag: DAG;
  runId: string;
  /** SageMaker client for a task's connection (`awsClients.sagemaker(connId)`). */
  sagemaker: (connId: string | null) => SageMakerClient;
  localAwsDataDir: string | null;
  logTailLines?: number;
}

const round = (s: number): number => Math.round(s * 1000) / 1000;

export async function summarizeRun(input: SummaryInput): Promise<RunSummary> {
  const { store, dag, runId } = input;
  const found = await runWithTaskInstances(store, dag.dagId, runId);
  if (!found) throw new Error(`DAG run ${dag.dagId}/${runId} not found`);
  const { run, tis } = found;
  const xcoms = await new XComRepository(store).listForRun(dag.dagId, runId);
  const order = new Map(dag.topologicalOrder().map((id, i) => [id, i]));
  tis.sort((a, b) => (order.get(a.task_id) ?? 1e9) - (order.get(b.task_id) ?? 1e9));

  const xcom = (taskId: string, key: string): unknown => {
    const d = xcoms.find((x: XComDoc) => x.task_id === taskId && x.key === key);
    return d ? (JSON.parse(d.value) as unknown) : undefined;
  };

  const tasks: TaskAccount[] = [];
  for (const ti of tis) {
    tasks.push({
      task_id: ti.task_id,
      state: ti.state,
      try_number: ti.try_number,
      duration_s: ti.duration,
      running_s: round(ti.running_ms / 1000),
      deferred_s: round(ti.deferred_ms / 1000),
      job: await jobAccount(ti, xcom(ti.task_id, 'return_value'), dag, input.sagemaker),
    });
  }

  const accuracyValue = tis.map((t) => xcom(t.task_id, 'accuracy')).find((v) => typeof v === 'number');
  const model = findString(xcoms, ['Training', 'ModelArtifacts', 'S3ModelArtifacts']);
  const predictions = findString(xcoms, ['predictions_uri']) ?? transformOutput(xcoms);
  const s3Dir = input.localAwsDataDir ? join(input.localAwsDataDir, 's3') : null;
  const artifacts: RunArtifacts = {
    model_s3_uri: model,
    predictions_s3_uri: predictions,
    local_s3_dir: s3Dir,
    model_local_path: localObjectPath(s3Dir, model),
    predictions_local_path: localObjectPath(s3Dir, predictions),
  };

  let failure: RunSummary['failure'] = null;
  const failed =
    tis.find((t) => t.state === 'failed' || t.state === 'up_for_retry') ?? (run.state === 'failed' ? tis.find((t) => t.state !== 'success') : undefined);
  if (failed) {
    const lines = await new TaskLogRepository(store).read(failed._id, Math.max(1, failed.try_number));
    const tail = lines.slice(-(input.logTailLines ?? 20)).map((l) => `[${l.ts.toISOString()}] ${l.level.toUpperCase()} - ${maskSecrets(l.msg)}`);
    failure = { task_id: failed.task_id, error: failed.last_error, log_tail: tail };
  }

  return {
    dag_id: dag.dagId,
    run_id: runId,
    state: run.state,
    tasks,
    totals: {
      running_s: round(tasks.reduce((s, t) => s + t.running_s, 0)),
      deferred_s: round(tasks.reduce((s, t) => s + t.deferred_s, 0)),
      job_s: round(tasks.reduce((s, t) => s + (t.job?.seconds ?? 0), 0)),
    },
    accuracy: typeof accuracyValue === 'number' ? accuracyValue : null,
    artifacts,
    failure,
  };
}

/** The task's SageMaker job, named by its return value (`{Training: {TrainingJobName…}}`) and described afresh. */
async function jobAccount(ti: TaskInstanceDoc, returnValue: unknown, dag: DAG, sagemaker: SummaryInput['sagemaker']): Promise<JobAccount | null> {
  if (!returnValue || typeof returnValue !== 'object') return null;
  for (const [label, kind] of Object.entries(KINDS_BY_LABEL)) {
    const desc = (returnValue as Record<string, unknown>)[label];
    if (!desc || typeof desc !== 'object') continue;
    const name = (desc as Record<string, unknown>)[kind.nameField];
    if (typeof name !== 'string') continue;
    let live: Description = desc as Description;
    try {
      live = await kind.describe(sagemaker(connIdOf(dag, ti.task_id)), name);
    } catch {
      // The stored Describe (taken when the task resumed) is good enough for the account.
    }
    return {
      kind: label,
      name,
      status: typeof live[kind.statusField] === 'string' ? (live[kind.statusField] as string) : null,
      seconds: jobSeconds(label, live),
    };
  }
  return null;
}

function connIdOf(dag: DAG, taskId: string): string | null {
  const op = dag.hasTask(taskId) ? (dag.getTask(taskId) as unknown as { awsConnId?: unknown }) : null;
  return typeof op?.awsConnId === 'string' ? op.awsConnId : null;
}

function toMs(v: unknown): number | null {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' || typeof v === 'number') {
    const t = new Date(v).getTime();
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

export function jobSeconds(label: string, desc: Description): number | null {
  const start = toMs(desc.CreationTime);
  const endField = (END_FIELDS[label] ?? []).find((f) => toMs(desc[f]) !== null);
  const end = endField ? toMs(desc[endField]) : null;
  return start !== null && end !== null && end >= start ? round((end - start) / 1000) : null;
}

/** The first string found at `path` inside any XCom value. */
function findString(xcoms: XComDoc[], path: string[]): string | null {
  for (const x of xcoms) {
    let v: unknown;
    try {
      v = JSON.parse(x.value);
    } catch {
      continue;
    }
    for (const k of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    if (typeof v === 'string') return v;
  }
  return null;
}

/** Where the local AWS keeps an object's bytes (see src/local-aws/s3/keys.ts). */
export function localObjectPath(s3Dir: string | null, uri: string | null): string | null {
  const m = uri ? /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) : null;
  if (!s3Dir || !m) return null;
  try {
    return `${objectBasePath(join(s3Dir, m[1]), m[2])}!obj`;
  } catch {
    return null;
  }
}

function transformOutput(xcoms: XComDoc[]): string | null {
  return findString(xcoms, ['Transform', 'TransformOutput', 'S3OutputPath']);
}
