/**
 * `deferflow start [--serve] [--dag ID]` — the seed pipeline's front door (`npm start`): start the
 * embedded stack (src/standalone: MongoDB unless MONGODB_URI, local AWS unless AWS is configured,
 * scheduler, worker, triggerer on the EventBridge → SQS queue, webserver), fill in the variables
 * the seed DAG reads, trigger `sagemaker_pipeline`, print a line per task state change (and which
 * SageMaker job each deferred task waits on), then the account of the run: states, durations,
 * worker slot-seconds against SageMaker job seconds, the accuracy and where the artifacts are.
 * Exit 0 only if the run succeeded; otherwise the failing task's log tail is printed.
 * With --serve the UI stays up afterwards until Ctrl-C.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from 'pino';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { NotFoundError } from '../../errors/not-found-error.ts';
import { wantsLocalAws } from '../../config/settings.ts';
import { createLogger } from '../../log/logger.ts';
import { VariableRepository } from '../../store/repositories/variable-repository.ts';
import type { TriggerDoc } from '../../store/schema.ts';
import { getTrigger } from '../../app/queries/trigger-queries.ts';
import { AppContext } from '../../app/app-context.ts';
import { formatDuration } from '../../util/duration.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../standalone/embedded-stack.ts';
import { summarizeRun, type RunSummary } from '../../standalone/run-summary.ts';
import { untilSignal, type Opts } from '../command-kit.ts';
import type { CliContext } from '../context.ts';
import { readStandaloneState } from '../../standalone/standalone-state-file.ts';
import { followRun, RunProgressView } from '../output/run-progress.ts';
import { renderTable, toJsonValue, type Writer } from '../output/renderer.ts';
import { dagIdArg, positiveIntString, validate } from '../validation.ts';

export const SEED_DAG_ID = 'sagemaker_pipeline';
/** Each SageMaker status step on the local AWS takes this long (the KNN itself really runs). */
export const START_STAGE_DELAY_MS = 200;

const input = z.object({ dagId: dagIdArg, timeout: positiveIntString('--timeout') });

export function startLogger(ctx: CliContext): Logger {
  // The live view is the output; the process log stays quiet unless DEFERFLOW_LOG_LEVEL asks.
  const level = process.env.DEFERFLOW_LOG_LEVEL ? ctx.settings.logLevel : 'error';
  return createLogger({ level, name: 'deferflow', format: ctx.settings.logFormat, destination: process.stderr });
}

export async function start(ctx: CliContext, _args: Array<string | undefined>, opts: Opts): Promise<void> {
  // The SDK's Node-version notice would be the first thing a new user sees; it is not about this run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const t0 = Date.now();
  const v = validate(input, { dagId: opts.dag ?? SEED_DAG_ID, timeout: opts.timeout ?? '600' }, { dagId: '--dag', timeout: '--timeout' }, 'Cannot start');
  const serve = Boolean(opts.serve);
  const json = ctx.format === 'json';
  // Progress goes to stderr under --output json, so stdout holds one JSON document.
  const say = (t: string): void => (json ? ctx.writer.err(t) : ctx.writer.out(t));
  const local = wantsLocalAws(ctx.settings);
  // A running `deferflow standalone` owns $DEFERFLOW_HOME/local-aws and standalone.json: keep off both.
  const standaloneAlive = readStandaloneState(ctx.settings.home) !== null;
  const dataDir = standaloneAlive ? join(ctx.settings.home, `local-aws-start-${process.pid}`) : ctx.settings.localAws.dataDir;

  say(`Starting deferflow (${ctx.settings.mongoUri ? 'MongoDB from MONGODB_URI' : 'embedded MongoDB'}, ${local ? 'local AWS' : 'real AWS'}) …`);
  const stack = await startEmbeddedStack({
    logger: startLogger(ctx),
    mongoUri: ctx.settings.mongoUri,
    home: ctx.settings.home,
    dagsFolder: ctx.settings.dagsFolder,
    dagProcessing: ctx.settings.dagProcessing,
    localAws: local ? { dataDir } : false,
    stageDelayMs: START_STAGE_DELAY_MS,
    webserver: serve
      ? { host: ctx.settings.webserver.host, port: ctx.settings.webserver.port, portFallback: true, authToken: ctx.settings.webserver.authToken }
      : false,
    slots: ctx.settings.workerSlots,
    eventsQueueUrl: process.env.DEFERFLOW_EVENTS_QUEUE_URL,
    writeState: serve && !standaloneAlive,
  });
  ctx.onClose(() => stack.stop());

  if (!stack.runtime.dagBag.getDag(v.dagId)) {
    const errors = stack.runtime.dagBag.importErrors.map((e) => `${e.file}: ${e.message.split('\n')[0]}`);
    throw new NotFoundError(
      'DAG_NOT_FOUND',
      `DAG '${v.dagId}' not found in ${ctx.settings.dagsFolder}${errors.length ? ` (import errors: ${errors.join('; ')})` : ''}`,
      'Run from the repository root, or point DEFERFLOW_DAGS_FOLDER at the folder holding the seed DAGs.',
    );
  }
  // The live DAG (operators and all): the run summary reads each SageMaker task's connection.
  const dag = await stack.runtime.dagBag.loadDag(v.dagId);
  if (!local) await requireVariables(stack, ['s3_bucket', 'role']);
  say(describeStack(stack, Date.now() - t0));

  // Ctrl-C at any point from here stops the stack cleanly (through ctx.close) instead of killing it.
  let interrupted: NodeJS.Signals | null = null;
  const signal = untilSignal().then((s) => (interrupted = s));

  const run = await stack.runtime.triggerDag(dag.dagId, { note: 'deferflow start' });
  say(`Triggered ${dag.dagId} run ${run.run_id}`);
  const view = new RunProgressView(lineWriter(ctx.writer), ctx.format);
  const timedOut = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), v.timeout * 1000).unref());
  const following = followRun(new AppContext({ store: stack.store, bus: stack.runtime.bus, dags: stack.runtime.dagBag }), dag.dagId, run.run_id, view, {
    intervalMs: 500,
    taskOrder: dag.topologicalOrder(),
    done: Promise.race([timedOut, signal]),
  });
  const jobLines = announceDeferrals(stack, dag.dagId, run.run_id, say);
  const final = await following;
  jobLines.unsubscribe();
  if (interrupted) {
    say(`Interrupted (${String(interrupted)}): stopping. Run ${run.run_id} stays in the database; SageMaker jobs already submitted are not stopped.`);
    process.exitCode = 130;
    return;
  }
  if (!final) throw new DeferflowError('DAG_RUN_NOT_FOUND', `The run ${run.run_id} disappeared`);
  if (final.state !== 'success' && final.state !== 'failed') {
    throw new DeferflowError('RUN_WAIT_TIMEOUT', `${dag.dagId} did not finish within ${v.timeout} s (state ${final.state})`, {
      hint: 'Raise --timeout, or look at the task states above for what is still waiting.',
    });
  }

  const summary = await summarizeRun({
    store: stack.store,
    dag,
    runId: run.run_id,
    sagemaker: (connId) => stack.awsClients.sagemaker(connId),
    localAwsDataDir: stack.localAwsDataDir,
  });
  const wallS = (Date.now() - t0) / 1000;
  if (json) ctx.writer.out(JSON.stringify(toJsonValue({ ...summary, wall_s: wallS, webserver_url: stack.webserverUrl, mongo_uri: stack.mongoUri }), null, 2));
  else printSummary(ctx.writer, summary, wallS);
  if (summary.state !== 'success') process.exitCode = 1;

  if (serve) {
    say(`\nUI: ${stack.webserverUrl}  (this run: ${stack.webserverUrl}/#/dags/${dag.dagId}/grid) — Ctrl-C to stop`);
    say(`Other CLI commands reach this stack with: export MONGODB_URI='${stack.mongoUri}' DEFERFLOW_HOME='${ctx.settings.home}'`);
    await signal;
  }
}

/** The view's line-per-change mode, also on a terminal: the job lines interleave with it. */
function lineWriter(w: Writer): Writer {
  return { out: (t) => w.out(t), err: (t) => w.err(t), isTty: false };
}

/** A line when a task of the run defers (what it waits on) and when its job's event resumes it. */
function announceDeferrals(stack: EmbeddedStack, dagId: string, runId: string, say: (t: string) => void) {
  const triggers = new Map<string, string>();
  return stack.runtime.bus.changes$.subscribe((c) => {
    if (c.kind !== 'task_instance' || c.ti.dag_id !== dagId || c.ti.run_id !== runId) return;
    const ti = c.ti;
    const time = new Date().toISOString().slice(11, 19);
    if (ti.state === 'deferred' && ti.trigger_id) {
      const triggerId = ti.trigger_id;
      void getTrigger(stack.store, triggerId).then(
        (t: TriggerDoc | null) => {
          const what = t?.description ?? t?.kind ?? 'its trigger';
          triggers.set(ti.task_id, what);
          say(`[${time}] ${ti.task_id}: waiting on ${what} — worker slot released`);
        },
        () => undefined,
      );
    } else if (c.previous === 'deferred' && ti.state === 'scheduled') {
      const status = eventStatus(ti.trigger_event);
      const waited = ti.deferred_at && ti.resumed_at ? ` after ${formatDuration(ti.resumed_at.getTime() - ti.deferred_at.getTime())}` : '';
      say(`[${time}] ${ti.task_id}: event received${status ? ` (${status})` : ''}${waited} — resuming on a worker`);
    }
  });
}

function eventStatus(json: string | null): string | null {
  if (!json) return null;
  try {
    const e = JSON.parse(json) as Record<string, unknown>;
    return typeof e.status === 'string' ? e.status : null;
  } catch {
    return null;
  }
}

async function requireVariables(stack: EmbeddedStack, keys: string[]): Promise<void> {
  const vars = new VariableRepository(stack.store);
  const missing: string[] = [];
  for (const k of keys) if ((await vars.get(k)) === undefined) missing.push(k);
  if (missing.length) {
    throw new DeferflowError('CONFIG_ERROR', `The seed pipeline needs the variables ${missing.join(', ')} on real AWS`, {
      hint: 'deferflow variables set s3_bucket YOUR_BUCKET && deferflow variables set role arn:aws:iam::ACCOUNT:role/YOUR_SAGEMAKER_ROLE',
    });
  }
}

function describeStack(stack: EmbeddedStack, ms: number): string {
  const lines = [`Stack up in ${formatDuration(ms)}: MongoDB ${stack.mongoEmbedded ? '(embedded) ' : ''}${redact(stack.mongoUri)}`];
  if (stack.localAws) lines.push(`  local AWS ${stack.localAws.url}  data ${stack.localAwsDataDir}`);
  if (stack.eventsQueueUrl) lines.push(`  SageMaker events: EventBridge → SQS ${stack.eventsQueueUrl} → triggerer`);
  if (stack.webserverUrl) lines.push(`  UI ${stack.webserverUrl}`);
  return lines.join('\n');
}

function redact(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)([^:@/]+):([^@/]*)@/, '$1$2:***@');
}

const secs = (s: number | null | undefined): string => (s == null ? '' : `${s.toFixed(s < 10 ? 2 : 1)} s`);

function printSummary(w: Writer, s: RunSummary, wallS: number): void {
  const rows = s.tasks.map((t) => ({
    task_id: t.task_id,
    state: t.state ?? 'none',
    try: t.try_number,
    duration: secs(t.duration_s),
    'worker slot': secs(t.running_s),
    deferred: t.deferred_s ? secs(t.deferred_s) : '',
    'SageMaker job': t.job ? `${t.job.name} (${t.job.status ?? '?'})` : '',
    'job time': secs(t.job?.seconds),
  }));
  const cols = ['task_id', 'state', 'try', 'duration', 'worker slot', 'deferred', 'SageMaker job', 'job time'].map((key) => ({ key, state: key === 'state' }));
  w.out('');
  w.out(renderTable(rows, cols, false));
  w.out(`DAG run ${s.run_id} of ${s.dag_id}: ${s.state} in ${wallS.toFixed(1)} s`);
  w.out(
    `Worker slot-seconds used: ${secs(s.totals.running_s)} — SageMaker job seconds: ${secs(s.totals.job_s)} (waited deferred, holding no slot: ${secs(s.totals.deferred_s)})`,
  );
  if (s.accuracy !== null) w.out(`Accuracy on the held-out set: ${(s.accuracy * 100).toFixed(1)}%`);
  const a = s.artifacts;
  if (a.model_s3_uri || a.predictions_s3_uri || a.local_s3_dir) {
    w.out('Artifacts:');
    if (a.model_s3_uri) w.out(`  model        ${a.model_s3_uri}${a.model_local_path ? `\n               ${a.model_local_path}` : ''}`);
    if (a.predictions_s3_uri) w.out(`  predictions  ${a.predictions_s3_uri}${a.predictions_local_path ? `\n               ${a.predictions_local_path}` : ''}`);
    if (a.local_s3_dir) w.out(`  local S3     ${a.local_s3_dir}  (s3://BUCKET/KEY is stored as BUCKET/KEY!obj there)`);
  }
  if (s.failure) {
    w.err(`\nTask ${s.failure.task_id} failed${s.failure.error ? `: ${s.failure.error.split('\n')[0]}` : ''}. Last log lines:`);
    for (const l of s.failure.log_tail) w.err(`  ${l}`);
  }
}
