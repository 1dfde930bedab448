/**
 * Runs one try of a claimed task instance, from loading its task to the guarded write of the
 * outcome:
 *
 *   load DAG/task → open the try's log → preload run, XComs, variables, connections → build the
 *   template context → copy the operator and render its template fields → execute (or the resume
 *   method named by next_method) under the execution deadline → write the outcome.
 *
 * Outcomes: a return value is pushed as XCom `return_value` then the try succeeds; TaskSkipped →
 * skipped; TaskFailedNoRetry → failed; TaskDeferred → the deferral contract (insert trigger,
 * running → deferred, delete the trigger if that lost); anything else → up_for_retry while tries
 * remain, else failed. Every write is guarded by the lease token, and once the lease is lost the
 * try writes nothing (a worker whose row changed under it must never overwrite it).
 */
import { paramValues } from '../dag/param.ts';
import type { Logger } from 'pino';
import type { DagSource } from '../dag-processing/dag-definition.ts';
import type { DAG } from '../dag/dag.ts';
import type { BaseOperator } from '../dag/operator.ts';
import type { TaskContext, TaskInstanceHandle } from '../dag/task-context.ts';
import { isTaskDeferred, type TaskDeferred } from '../dag/task-deferred.ts';
import { DeferflowError, errorMessage } from '../errors/deferflow-error.ts';
import { isTaskFailedNoRetry, isTaskSkipped, TaskTimeout } from '../errors/task-errors.ts';
import { TaskLogSink } from '../log/task-log-sink.ts';
import { maskSecrets } from '../log/secret-masker.ts';
import { nextRetryDelayMs, retryJitterKey } from '../scheduler/retry-delay.ts';
import type { Store } from '../store/store.ts';
import type { DagRunDoc, FailReason, TaskInstanceDoc } from '../store/schema.ts';
import { dagRunId } from '../store/schema.ts';
import { TaskInstanceTransitions, type FinishOutcome, type TiBatchItem } from '../store/transitions/task-instance-transitions.ts';
import { FAIL_METHOD } from '../store/transitions/task-instance-plans.ts';
import type { TriggerTransitions } from '../store/transitions/trigger-transitions.ts';
import { XComRepository, XCOM_RETURN_KEY, type XComLoadRequest } from '../store/repositories/xcom-repository.ts';
import type { CallbackRequestDoc, TaskLogDoc, XComDoc } from '../store/schema.ts';
import { VariableRepository } from '../store/repositories/variable-repository.ts';
import { TaskLogRepository } from '../store/repositories/task-log-repository.ts';
import { toJsonString } from '../store/repositories/json-safe.ts';
import { buildTemplateContext, renderTemplate, renderTemplateFields, type ConnectionView } from '../templating/index.ts';
import { serializeTrigger } from '../triggers/serialized-trigger.ts';
import type { TriggerKindRegistry } from '../triggers/trigger-kind-registry.ts';
import type { Services } from '../services/services.ts';
import { runInTaskScope } from '../services/task-scope.ts';
import { parseDuration } from '../util/duration.ts';
import { LeaseLost, WorkerShutdown } from './abort-reasons.ts';
import { Coalescer } from './coalescer.ts';
import { RunningTry } from './running-try.ts';
import { TaskCallbacks, type TaskCallbackName } from './task-callbacks.ts';
import { TryXComs } from './try-xcoms.ts';
import { parseJsonObject } from '../util/json-object.ts';

/** Synchronous connection access for templates (src/connections' ConnectionLookup fits). */
export interface WorkerConnectionLookup {
  get(connId: string): ConnectionView | undefined;
  /** Re-read connections; called at most every `connectionRefreshMs`. */
  refresh?(): Promise<void>;
}

export interface TaskRunnerDeps {
  store: Store;
  dagBag: DagSource;
  logger: Logger;
  tis: TaskInstanceTransitions;
  triggers: TriggerTransitions;
  connectionLookup?: WorkerConnectionLookup;
  services: Services;
  /** Trigger kinds known here: a deferral stores its trigger's routing keys and description. */
  triggerKinds: TriggerKindRegistry;
  leaseMs: number;
  /** How long preloaded variables / connections may be reused across tries (default 1000 ms). */
  preloadTtlMs?: number;
  /** Task log flush period (default 1000 ms). */
  logFlushMs?: number;
  /** How long a write waits to be batched with other tries' writes (default 2 ms). */
  batchDelayMs?: number;
  /** The worker's id: owner of the task callback requests it runs. */
  workerId?: string;
}

type Outcome = { kind: 'finished'; outcome: FinishOutcome; error?: unknown; value?: unknown } | { kind: 'deferred'; deferred: TaskDeferred };

export class TaskRunner {
  private readonly xcoms: XComRepository;
  private readonly variables: VariableRepository;
  private readonly logs: TaskLogRepository;
  private readonly runCache = new Map<string, Promise<DagRunDoc>>();
  private varCache: { at: number; values: Record<string, string> } | null = null;
  private varLoading: Promise<Record<string, string>> | null = null;
  private connRefreshedAt = 0;
  private readonly ttl: number;
  /**
   * The slots' writes, batched across tries (issue 10.2): outcomes (finish / defer) as one
   * bulkWrite, task-log lines as one insertMany, XCom loads as one find — each a few ms apart.
   */
  private readonly outcomes: Coalescer<TiBatchItem, TaskInstanceDoc | null>;
  private readonly logLines: Coalescer<TaskLogDoc[], void>;
  private readonly xcomLoads: Coalescer<XComLoadRequest, XComDoc[]>;
  private readonly logSink: Pick<TaskLogRepository, 'append'>;
  readonly callbacks: TaskCallbacks;

  constructor(private readonly deps: TaskRunnerDeps) {
    this.callbacks = new TaskCallbacks(deps.store, deps.workerId ?? 'worker', deps.logger);
    this.xcoms = new XComRepository(deps.store);
    this.variables = new VariableRepository(deps.store);
    this.logs = new TaskLogRepository(deps.store);
    this.ttl = deps.preloadTtlMs ?? 1000;
    const delayMs = deps.batchDelayMs ?? 2;
    this.outcomes = new Coalescer({ delayMs, flush: (items) => deps.tis.settleTries(items) });
    this.logLines = new Coalescer<TaskLogDoc[], void>({
      delayMs,
      flush: async (batches) => {
        await this.logs.append(batches.flat());
        return batches.map(() => undefined);
      },
    });
    this.logSink = { append: (lines) => this.logLines.request([...lines]) };
    this.xcomLoads = new Coalescer({
      delayMs,
      flush: async (requests) => {
        const docs = await this.xcoms.findForTasks(requests);
        return requests.map((r) => {
          const tasks = new Set(r.taskIds);
          const pairs = new Set((r.pairs ?? []).map(([t, k]) => `${t}\u0000${k}`));
          return docs.filter((d) => d.dag_id === r.dagId && d.run_id === r.runId && (tasks.has(d.task_id) || pairs.has(`${d.task_id}\u0000${d.key}`)));
        });
      },
    });
  }

  /** Run the try to its end; never throws (failures are outcomes, store errors are logged). */
  async run(rt: RunningTry): Promise<void> {
    const ti = rt.ti;
    const resuming = ti.next_method !== null;
    const sink = new TaskLogSink({
      repo: this.logSink,
      parent: this.deps.logger,
      ti,
      tryNumber: ti.try_number,
      lastSeq: resuming ? await this.logs.lastSeq(ti._id, ti.try_number).catch(() => -1) : -1,
      flushIntervalMs: this.deps.logFlushMs,
    });
    const log = sink.logger;
    try {
      await this.runWithLog(rt, log, resuming);
    } catch (e) {
      // Only store failures land here (the outcome write itself failed): the lease will expire
      // and the scheduler reaps the try as a zombie, so nothing is lost.
      log.error({ err: e }, 'worker could not record the outcome of this try');
    } finally {
      await sink.close();
    }
  }

  private async runWithLog(rt: RunningTry, log: Logger, resuming: boolean): Promise<void> {
    const ti = rt.ti;
    // The live DAG (its file imported here only after a child process imported it cleanly).
    let dag: DAG | undefined;
    let loadError: string | undefined;
    try {
      dag = await this.deps.dagBag.loadDag(ti.dag_id);
    } catch (e) {
      loadError = errorMessage(e);
    }
    if (!dag?.hasTask(ti.task_id)) {
      const msg = dag
        ? `Task '${ti.task_id}' not found in DAG '${ti.dag_id}' (${dag.fileloc ?? 'no file'}); it may have been removed from the DAG file`
        : `DAG '${ti.dag_id}' could not be loaded in this worker: ${loadError ?? 'unknown DAG'}`;
      log.error(msg);
      await this.write(rt, log, { kind: 'finished', outcome: { state: 'failed', error: msg } }, undefined, null);
      return;
    }
    const task = dag.getTask(ti.task_id);
    // The claim sets the deadline from the DAG definitions this worker had read; a DAG recorded
    // moments before may not have reached them yet. Enforce the live task's timeout here then.
    if (!resuming && ti.execution_deadline === null && task.executionTimeoutMs !== null && ti.start_date) {
      ti.execution_deadline = new Date(ti.start_date.getTime() + task.executionTimeoutMs);
      log.warn(`execution_timeout applied by this worker only (deadline ${ti.execution_deadline.toISOString()}): the DAG was newer than its definitions`);
    }
    log.info(
      resuming
        ? `Resuming try ${ti.try_number} of ${ti.max_tries + 1} with ${ti.next_method}`
        : `Starting try ${ti.try_number} of ${ti.max_tries + 1} on ${ti.hostname}`,
    );

    let op: BaseOperator = task;
    let ctx: TaskContext | undefined;
    let renderedFields: string | null | undefined;
    let outcome: Outcome;
    try {
      if (!resuming && ti.try_number > 1) await this.xcoms.deleteForTaskInstance(ti);
      const built = await this.buildContext(rt, task, log, resuming);
      ctx = built.ctx;
      const rendered = await this.renderWithXComs(task, built.templateContext, built.xcoms, ti);
      op = rendered.op;
      renderedFields = rendered.fields;
      outcome = await this.execute(rt, op, ctx, log, resuming);
    } catch (e) {
      outcome = this.classifyError(e, ti, task);
    }
    await this.write(rt, log, outcome, ctx, renderedFields, op);
  }

  /** Preloaded data + Airflow's template context + the runtime handles of TaskContext. */
  private async buildContext(
    rt: RunningTry,
    task: BaseOperator,
    log: Logger,
    resuming: boolean,
  ): Promise<{ ctx: TaskContext; templateContext: Record<string, unknown>; xcoms: TryXComs }> {
    const ti = rt.ti;
    // Upstream tasks' XComs; the task's own only when it resumes (a fresh try starts with none:
    // try 1 has had none, later tries deleted theirs just before).
    const upstream = [...task.upstreamTaskIds];
    const load = resuming ? [...upstream, ti.task_id] : upstream;
    const [run, xcomDocs, vars] = await Promise.all([
      this.runOf(ti),
      load.length ? this.xcomLoads.request({ dagId: ti.dag_id, runId: ti.run_id, taskIds: load }) : Promise.resolve([]),
      this.preloadVariables(),
      this.refreshConnections(),
    ]);
    const xcoms = new TryXComs(ti.task_id);
    xcoms.add(xcomDocs, resuming ? load : [...load, ti.task_id]);
    const dag = task.dag!;
    const conf = parseJsonObject(run.conf);
    // A Param is its value here (the run's conf overrides it).
    const params = { ...paramValues(dag.params), ...conf };
    const getXCom = (taskId: string, key: string): unknown => xcoms.get(taskId, key);
    const templateContext = buildTemplateContext({
      dagId: ti.dag_id,
      taskId: ti.task_id,
      runId: ti.run_id,
      runType: run.run_type,
      logicalDate: run.logical_date,
      dataIntervalStart: run.data_interval_start,
      dataIntervalEnd: run.data_interval_end,
      params,
      conf,
      tryNumber: ti.try_number,
      mapIndex: ti.map_index,
      getVariable: (k) => vars[k],
      getConnection: (id) => this.deps.connectionLookup?.get(id),
      getXCom,
    });
    const handle: TaskInstanceHandle = {
      dag_id: ti.dag_id,
      task_id: ti.task_id,
      run_id: ti.run_id,
      try_number: ti.try_number,
      max_tries: ti.max_tries,
      xcom_pull: (taskIds, key) => {
        let k = key ?? XCOM_RETURN_KEY;
        let ids: unknown = taskIds;
        if (taskIds && typeof taskIds === 'object' && !Array.isArray(taskIds)) {
          ids = (taskIds as Record<string, unknown>).task_ids;
          k = String((taskIds as Record<string, unknown>).key ?? k);
        }
        if (typeof ids === 'string') return getXCom(ids, k);
        if (Array.isArray(ids)) return ids.map((id) => getXCom(String(id), k)).filter((v) => v !== undefined);
        throw new TypeError('xcom_pull: pass a task id or a list of task ids');
      },
      xcom_push: async (key, value) => {
        // Fenced: a try paused past its lease must not overwrite what the live try recorded.
        await this.fence(rt);
        await this.xcoms.push(ti, key, value);
        xcoms.set(ti.task_id, key, JSON.parse(toJsonString(value)) as unknown);
      },
    };
    const ctx = {
      ...templateContext,
      ti: handle,
      task_instance: handle,
      task: task,
      log,
      signal: rt.signal,
      services: this.deps.services,
      render: (template: string) => renderTemplate(template, templateContext),
      getVariable: (key: string, defaultValue?: string) => this.variables.require(key, defaultValue),
      fence: () => this.fence(rt),
    } as unknown as TaskContext;
    return { ctx, templateContext, xcoms };
  }

  /**
   * Lease fencing (issue 14.0): renew the lease with a guarded write; if the row is no longer
   * this try's, abort the try for good and reject with LeaseLost.
   */
  private async fence(rt: RunningTry): Promise<void> {
    if (!rt.mayWrite) throw new LeaseLost();
    if (await this.deps.tis.heartbeat(rt.ti._id, rt.token, this.deps.leaseMs)) return;
    const lost = new LeaseLost('Lease lost: this try no longer owns its task instance (it was reaped, retried, cleared or marked elsewhere)');
    rt.loseLease(lost);
    throw lost;
  }

  /**
   * Copy the operator for this try and render its template fields. XComs the templates pull that
   * were not loaded (not upstream) are noted during the render, loaded in one query, and the
   * fields rendered again on a fresh copy (at most twice more: a pull can name what another pulled).
   */
  private async renderWithXComs(
    task: BaseOperator,
    templateContext: Record<string, unknown>,
    xcoms: TryXComs,
    ti: TaskInstanceDoc,
  ): Promise<{ op: BaseOperator; fields: string | null }> {
    for (let round = 0; ; round++) {
      const op = task.copyForTry();
      xcoms.record();
      let fields: string | null = null;
      let error: unknown;
      let failed = false;
      try {
        fields = this.renderFields(op, templateContext);
      } catch (e) {
        error = e;
        failed = true;
      }
      const missing = xcoms.stopRecording();
      if (missing.length === 0 || round >= 2) {
        if (failed) throw error;
        return { op, fields };
      }
      const docs = await this.xcomLoads.request({ dagId: ti.dag_id, runId: ti.run_id, taskIds: [], pairs: missing });
      xcoms.add(docs, [], missing);
    }
  }

  /** Render template fields into the per-try copy; returns them as JSON for the TI row. */
  private renderFields(op: BaseOperator, templateContext: Record<string, unknown>): string | null {
    const fields = op.resolvedTemplateFields;
    if (fields.length === 0) return null;
    const rendered: Record<string, unknown> = {};
    const target = op as unknown as Record<string, unknown>;
    for (const field of fields) {
      if (!(field in target)) continue;
      target[field] = renderTemplateFields(target[field], templateContext, { taskId: op.taskId, fieldPath: field });
      rendered[field] = target[field];
    }
    try {
      return maskSecrets(toJsonString(rendered, 'rendered template fields'));
    } catch {
      return maskSecrets(JSON.stringify(Object.fromEntries(Object.entries(rendered).map(([k, v]) => [k, String(v)]))));
    }
  }

  /** Call execute / the resume method under the execution deadline and the try's abort signal. */
  private async execute(rt: RunningTry, op: BaseOperator, ctx: TaskContext, log: Logger, resuming: boolean): Promise<Outcome> {
    const ti = rt.ti;
    const onExecute = op.callback('on_execute_callback');
    if (onExecute) await runCallback('on_execute_callback', () => runInTaskScope(this.deps.services, () => onExecute(ctx), ctx.fence), log);

    let call: () => unknown;
    if (resuming && ti.next_method === FAIL_METHOD) {
      const reason = failReasonOf(ti);
      call = () => {
        // The deadline that ended the deferral was the task's own: the try timed out (Airflow's AirflowTaskTimeout).
        if (reason.kind === 'execution_timeout') throw new TaskTimeout(reason.message);
        throw new DeferflowError(reason.kind === 'trigger_timeout' ? 'TRIGGER_TIMEOUT' : 'TRIGGER_FAILED', reason.message);
      };
    } else if (resuming) {
      const method = (op as unknown as Record<string, unknown>)[ti.next_method!];
      if (typeof method !== 'function') throw new Error(`Resume method '${ti.next_method}' does not exist on ${op.operatorName} '${op.taskId}'`);
      const kwargs = { ...parseJsonObject(ti.next_kwargs), event: ti.trigger_event == null ? null : (JSON.parse(ti.trigger_event) as unknown) };
      call = () => (method as (c: TaskContext, k: Record<string, unknown>) => unknown).call(op, ctx, kwargs);
    } else {
      call = () => op.execute(ctx);
    }

    let timer: NodeJS.Timeout | undefined;
    if (ti.execution_deadline) {
      const left = ti.execution_deadline.getTime() - Date.now();
      const timeout = new TaskTimeout(`Task exceeded its execution_timeout (deadline ${ti.execution_deadline.toISOString()}, deferred time included)`);
      if (left <= 0) rt.abort(timeout);
      else timer = setTimeout(() => rt.abort(timeout), left);
    }
    const aborted = new Promise<never>((_, reject) => {
      if (rt.signal.aborted) reject(rt.signal.reason);
      else rt.signal.addEventListener('abort', () => reject(rt.signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    try {
      // In the task's scope: hooks it builds itself (`new S3Hook(...)`) use this process's services.
      const value = await Promise.race([runInTaskScope(this.deps.services, () => Promise.resolve().then(call), ctx.fence), aborted]);
      return { kind: 'finished', outcome: { state: 'success' }, value };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private classifyError(e: unknown, ti: TaskInstanceDoc, task: BaseOperator): Outcome {
    // By brand, not class: the DAG file may have imported another copy of deferflow.
    if (isTaskDeferred(e)) return { kind: 'deferred', deferred: e };
    if (isTaskSkipped(e)) return { kind: 'finished', outcome: { state: 'skipped', reason: e.message }, error: e };
    if (isTaskFailedNoRetry(e)) return { kind: 'finished', outcome: { state: 'failed', error: e.message }, error: e };
    const error = e instanceof WorkerShutdown ? e.message : errorMessage(e);
    if (ti.try_number <= ti.max_tries) {
      const delay = nextRetryDelayMs({
        retryDelayMs: task.retryDelayMs,
        exponentialBackoff: task.retryExponentialBackoff,
        maxRetryDelayMs: task.maxRetryDelayMs,
        tryNumber: ti.try_number,
        jitterKey: retryJitterKey({ dagId: ti.dag_id, taskId: ti.task_id, logicalDate: ti.logical_date, tryNumber: ti.try_number }),
      });
      return { kind: 'finished', outcome: { state: 'up_for_retry', error, retryAt: new Date(Date.now() + delay) }, error: e };
    }
    return { kind: 'finished', outcome: { state: 'failed', error }, error: e };
  }

  /** Persist the outcome (guarded by the lease token) and run the matching callback. */
  private async write(
    rt: RunningTry,
    log: Logger,
    outcome: Outcome,
    ctx: TaskContext | undefined,
    renderedFields: string | null | undefined,
    op?: BaseOperator,
  ): Promise<void> {
    const ti = rt.ti;
    rt.settling = true;
    if (!rt.mayWrite) {
      log.warn('This worker no longer owns the task instance (lease lost); not recording the outcome');
      return;
    }
    if (outcome.kind === 'deferred') {
      await this.deferTry(rt, log, outcome.deferred, renderedFields);
      return;
    }
    let fin = outcome.outcome;
    let cause = outcome.error;
    if (fin.state === 'success' && outcome.value !== undefined) {
      // The return value is pushed before the state flips (whoever sees the success sees the XCom),
      // after checking the row is still ours so a stale worker does not overwrite a newer try's XCom.
      const value = outcome.value;
      try {
        const json = toJsonString(value, `Return value of task '${ti.task_id}'`);
        if (!(await this.deps.tis.heartbeat(ti._id, rt.token, this.deps.leaseMs))) {
          rt.loseLease();
          log.warn('Lease lost before the return value could be stored; not recording the outcome');
          return;
        }
        await this.xcoms.push(ti, XCOM_RETURN_KEY, JSON.parse(json) as unknown);
      } catch (e) {
        const failed: Outcome = op ? this.classifyError(e, ti, op) : { kind: 'finished', outcome: { state: 'failed', error: errorMessage(e) } };
        if (failed.kind === 'finished') {
          fin = failed.outcome;
          cause = e;
        }
      }
    }
    const name: TaskCallbackName | null =
      fin.state === 'success'
        ? 'on_success_callback'
        : fin.state === 'failed'
          ? 'on_failure_callback'
          : fin.state === 'up_for_retry'
            ? 'on_retry_callback'
            : null;
    const cb = name && ctx && op ? op.callback(name) : undefined;
    // The callback is requested before the outcome is written: if this process dies in between
    // the state change and the callback, another worker runs it (task-callbacks.ts).
    const request = cb && name ? await this.callbacks.request(ti, fin.state, name, cause === undefined ? null : errorMessage(cause)) : null;
    const after = await this.outcomes.request(TaskInstanceTransitions.finishItem(ti, rt.token, fin, { renderedFields, heldMs: rt.heldMs }, new Date()));
    if (!after) {
      rt.loseLease();
      if (request) await this.callbacks.withdraw(request);
      log.warn(`Task instance changed under this worker; its ${fin.state} outcome was not recorded`);
      return;
    }
    switch (fin.state) {
      case 'success':
        log.info('Marking task as SUCCESS');
        break;
      case 'skipped':
        log.info(`Marking task as SKIPPED: ${fin.reason ?? ''}`);
        break;
      case 'up_for_retry':
        log.error({ err: cause }, `Try ${ti.try_number} failed; marking task UP_FOR_RETRY, next try at ${fin.retryAt.toISOString()}`);
        break;
      case 'failed':
        log.error({ err: cause }, `Marking task as FAILED: ${fin.error}`);
        break;
      default:
        break;
    }
    if (!ctx || !cb || !name) return;
    const call = () => runCallback(name, () => runInTaskScope(this.deps.services, () => cb(ctx, cause)), log);
    await (request ? this.callbacks.run(request, call) : call());
  }

  /**
   * Run a task callback another process requested and could not run (its worker died after the
   * try's outcome was written; a zombie the scheduler reaped), with a context rebuilt from the row.
   * The callback cannot write the task instance (no lease); its log lines go to the try's log.
   */
  async runLeftBehindCallback(req: CallbackRequestDoc, ti: TaskInstanceDoc): Promise<void> {
    const dag = await this.deps.dagBag.loadDag(ti.dag_id).catch(() => undefined);
    const name = req.callback as TaskCallbackName;
    const cb = dag?.hasTask(ti.task_id) ? dag.getTask(ti.task_id).callback(name) : undefined;
    await this.callbacks.run(req, async () => {
      if (!cb || !dag) return;
      const task = dag.getTask(ti.task_id);
      const rt = new RunningTry(ti);
      const sink = new TaskLogSink({
        repo: this.logSink,
        parent: this.deps.logger,
        ti,
        tryNumber: ti.try_number,
        lastSeq: await this.logs.lastSeq(ti._id, ti.try_number).catch(() => -1),
        flushIntervalMs: this.deps.logFlushMs,
      });
      try {
        const { ctx } = await this.buildContext(rt, task, sink.logger, true);
        sink.logger.warn(`Running ${name} left behind by ${req.owner ?? 'a stopped process'} (attempt ${req.attempts})`);
        await runCallback(name, () => runInTaskScope(this.deps.services, () => cb(ctx, new Error(req.reason ?? `Task ended ${req.state}`))), sink.logger);
      } finally {
        await sink.close();
      }
    });
  }

  /** The deferral contract: trigger row first, then running → deferred; undo the trigger if that lost. */
  private async deferTry(rt: RunningTry, log: Logger, d: TaskDeferred, renderedFields: string | null | undefined): Promise<void> {
    const ti = rt.ti;
    const trigger = serializeTrigger(d.request.trigger);
    const meta = this.deps.triggerKinds.storageMetadata(trigger);
    const timeoutMs = d.request.timeout == null ? null : parseDuration(d.request.timeout);
    const deadline = timeoutMs == null ? null : new Date(Date.now() + timeoutMs);
    const doc = await this.deps.triggers.create({ trigger, deadline, ti, routingKeys: meta.routingKeys, description: meta.description });
    const after = await this.outcomes.request(
      TaskInstanceTransitions.deferItem(
        ti,
        rt.token,
        {
          triggerId: doc._id,
          nextMethod: d.request.method,
          nextKwargs: d.request.kwargs ?? {},
          triggerTimeout: deadline,
          trigger: { kind: trigger.kind, description: meta.description ?? null },
        },
        { renderedFields, heldMs: rt.heldMs },
        new Date(),
      ),
    );
    if (!after) {
      rt.loseLease();
      await this.deps.triggers.delete(doc._id);
      log.warn('Task instance changed under this worker while deferring; trigger withdrawn');
      return;
    }
    log.info(
      `Deferred until trigger ${trigger.kind}${meta.description ? ` (${meta.description})` : ''} fires; resumes in ${d.request.method}${deadline ? `, timeout at ${deadline.toISOString()}` : ''}`,
    );
  }

  private runOf(ti: TaskInstanceDoc): Promise<DagRunDoc> {
    const id = dagRunId(ti.dag_id, ti.run_id);
    const cached = this.runCache.get(id);
    // conf, dates and type never change for a run id; clear_number does, and matters to nobody
    // here. Tries of one run starting together share one read.
    if (cached) return cached;
    const loading = this.deps.store.dagRuns.findOne({ _id: id }).then((run) => {
      if (!run) throw new Error(`DAG run '${ti.run_id}' of DAG '${ti.dag_id}' not found`);
      return run;
    });
    if (this.runCache.size > 1000) this.runCache.clear();
    this.runCache.set(id, loading);
    loading.catch(() => this.runCache.delete(id));
    return loading;
  }

  private async preloadVariables(): Promise<Record<string, string>> {
    if (this.varCache && Date.now() - this.varCache.at < this.ttl) return this.varCache.values;
    // Tries starting together share one read.
    this.varLoading ??= this.variables.all().then(
      (values) => {
        this.varCache = { at: Date.now(), values };
        this.varLoading = null;
        return values;
      },
      (e: unknown) => {
        this.varLoading = null;
        throw e;
      },
    );
    return this.varLoading;
  }

  private async refreshConnections(): Promise<void> {
    const lookup = this.deps.connectionLookup;
    if (!lookup?.refresh || Date.now() - this.connRefreshedAt < this.ttl) return;
    this.connRefreshedAt = Date.now();
    await lookup.refresh();
  }
}

async function runCallback(name: string, fn: () => unknown, log: Logger): Promise<void> {
  try {
    await fn();
  } catch (e) {
    // A callback never changes the try's outcome.
    log.error({ err: e }, `${name} failed: ${errorMessage(e)}`);
  }
}
/**
 * Why the task was resumed into `__fail__`: the typed reason stored with the resume. A row written
 * before reasons were stored carries only the event's message; it counts as a trigger failure.
 */
function failReasonOf(ti: TaskInstanceDoc): FailReason {
  if (ti.fail_reason) return ti.fail_reason;
  const event = parseJsonObject(ti.trigger_event);
  return { kind: 'trigger_failure', message: typeof event.error === 'string' ? event.error : 'Trigger failed' };
}
