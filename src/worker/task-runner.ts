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
import { errorMessage } from '../errors/deferflow-error.ts';
import { isTaskFailedNoRetry, isTaskSkipped, TaskTimeout } from '../errors/task-errors.ts';
import { TaskLogSink } from '../log/task-log-sink.ts';
import { maskSecrets } from '../log/secret-masker.ts';
import { nextRetryDelayMs, retryJitterKey } from '../scheduler/retry-delay.ts';
import type { Store } from '../store/store.ts';
import type { DagRunDoc, FailReason, TaskInstanceDoc } from '../store/schema.ts';
import { dagRunId } from '../store/schema.ts';
import type { FinishOutcome, TaskInstanceTransitions } from '../store/transitions/task-instance-transitions.ts';
import { FAIL_METHOD } from '../store/transitions/task-instance-plans.ts';
import type { TriggerTransitions } from '../store/transitions/trigger-transitions.ts';
import { XComRepository, XCOM_RETURN_KEY, indexXComs } from '../store/repositories/xcom-repository.ts';
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
import type { RunningTry } from './running-try.ts';

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
}

type Outcome = { kind: 'finished'; outcome: FinishOutcome; error?: unknown; value?: unknown } | { kind: 'deferred'; deferred: TaskDeferred };

export class TaskRunner {
  private readonly xcoms: XComRepository;
  private readonly variables: VariableRepository;
  private readonly logs: TaskLogRepository;
  private readonly runCache = new Map<string, DagRunDoc>();
  private varCache: { at: number; values: Record<string, string> } | null = null;
  private connRefreshedAt = 0;
  private readonly ttl: number;

  constructor(private readonly deps: TaskRunnerDeps) {
    this.xcoms = new XComRepository(deps.store);
    this.variables = new VariableRepository(deps.store);
    this.logs = new TaskLogRepository(deps.store);
    this.ttl = deps.preloadTtlMs ?? 1000;
  }

  /** Run the try to its end; never throws (failures are outcomes, store errors are logged). */
  async run(rt: RunningTry): Promise<void> {
    const ti = rt.ti;
    const resuming = ti.next_method !== null;
    const sink = new TaskLogSink({
      repo: this.logs,
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
      const built = await this.buildContext(rt, task, log);
      ctx = built.ctx;
      op = task.copyForTry();
      renderedFields = this.renderFields(op, built.templateContext);
      outcome = await this.execute(rt, op, ctx, log, resuming);
    } catch (e) {
      outcome = this.classifyError(e, ti, task);
    }
    await this.write(rt, log, outcome, ctx, renderedFields, op);
  }

  /** Preloaded data + Airflow's template context + the runtime handles of TaskContext. */
  private async buildContext(rt: RunningTry, task: BaseOperator, log: Logger): Promise<{ ctx: TaskContext; templateContext: Record<string, unknown> }> {
    const ti = rt.ti;
    const [run, xcomDocs, vars] = await Promise.all([
      this.runOf(ti),
      this.xcoms.listForRun(ti.dag_id, ti.run_id),
      this.preloadVariables(),
      this.refreshConnections(),
    ]);
    const xcoms = indexXComs(xcomDocs);
    const dag = task.dag!;
    const conf = parseObject(run.conf);
    // A Param is its value here (the run's conf overrides it).
    const params = { ...paramValues(dag.params), ...conf };
    const getXCom = (taskId: string, key: string): unknown => xcoms.get(taskId)?.get(key);
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
        if (!rt.mayWrite) throw new LeaseLost();
        await this.xcoms.push(ti, key, value);
        let m = xcoms.get(ti.task_id);
        if (!m) xcoms.set(ti.task_id, (m = new Map()));
        m.set(key, JSON.parse(toJsonString(value)) as unknown);
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
    } as unknown as TaskContext;
    return { ctx, templateContext };
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
    if (onExecute) await runCallback('on_execute_callback', () => runInTaskScope(this.deps.services, () => onExecute(ctx)), log);

    let call: () => unknown;
    if (resuming && ti.next_method === FAIL_METHOD) {
      const reason = failReasonOf(ti);
      call = () => {
        // The deadline that ended the deferral was the task's own: the try timed out (Airflow's AirflowTaskTimeout).
        throw reason.kind === 'execution_timeout' ? new TaskTimeout(reason.message) : new Error(reason.message);
      };
    } else if (resuming) {
      const method = (op as unknown as Record<string, unknown>)[ti.next_method!];
      if (typeof method !== 'function') throw new Error(`Resume method '${ti.next_method}' does not exist on ${op.operatorName} '${op.taskId}'`);
      const kwargs = { ...parseObject(ti.next_kwargs), event: ti.trigger_event == null ? null : (JSON.parse(ti.trigger_event) as unknown) };
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
      const value = await Promise.race([runInTaskScope(this.deps.services, () => Promise.resolve().then(call)), aborted]);
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
    const after = await this.deps.tis.finish(ti, rt.token, fin, { renderedFields, heldMs: rt.heldMs });
    if (!after) {
      rt.loseLease();
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
    if (!ctx || !op) return;
    const name =
      fin.state === 'success'
        ? 'on_success_callback'
        : fin.state === 'failed'
          ? 'on_failure_callback'
          : fin.state === 'up_for_retry'
            ? 'on_retry_callback'
            : null;
    const cb = name ? op.callback(name) : undefined;
    if (cb && name) await runCallback(name, () => runInTaskScope(this.deps.services, () => cb(ctx, cause)), log);
  }

  /** The deferral contract: trigger row first, then running → deferred; undo the trigger if that lost. */
  private async deferTry(rt: RunningTry, log: Logger, d: TaskDeferred, renderedFields: string | null | undefined): Promise<void> {
    const ti = rt.ti;
    const trigger = serializeTrigger(d.request.trigger);
    const meta = this.deps.triggerKinds.storageMetadata(trigger);
    const timeoutMs = d.request.timeout == null ? null : parseDuration(d.request.timeout);
    const deadline = timeoutMs == null ? null : new Date(Date.now() + timeoutMs);
    const doc = await this.deps.triggers.create({ trigger, deadline, ti, routingKeys: meta.routingKeys, description: meta.description });
    const after = await this.deps.tis.defer(
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

  private async runOf(ti: TaskInstanceDoc): Promise<DagRunDoc> {
    const id = dagRunId(ti.dag_id, ti.run_id);
    const cached = this.runCache.get(id);
    // conf, dates and type never change for a run id; clear_number does, and matters to nobody here.
    if (cached) return cached;
    const run = await this.deps.store.dagRuns.findOne({ _id: id });
    if (!run) throw new Error(`DAG run '${ti.run_id}' of DAG '${ti.dag_id}' not found`);
    if (this.runCache.size > 1000) this.runCache.clear();
    this.runCache.set(id, run);
    return run;
  }

  private async preloadVariables(): Promise<Record<string, string>> {
    if (this.varCache && Date.now() - this.varCache.at < this.ttl) return this.varCache.values;
    const values = await this.variables.all();
    this.varCache = { at: Date.now(), values };
    return values;
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

function parseObject(json: string | null): Record<string, unknown> {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Why the task was resumed into `__fail__`: the typed reason stored with the resume. A row written
 * before reasons were stored carries only the event's message; it counts as a trigger failure.
 */
function failReasonOf(ti: TaskInstanceDoc): FailReason {
  if (ti.fail_reason) return ti.fail_reason;
  const event = parseObject(ti.trigger_event);
  return { kind: 'trigger_failure', message: typeof event.error === 'string' ? event.error : 'Trigger failed' };
}
