/**
 * What the DAG page knows: the DAG, its tasks in topological order, recent runs and their task
 * instances. Live changes are applied here first; views repaint from it.
 */
import type { ApiDag, ApiDagRun, ApiTask, ApiTaskInstance } from '../../../api/schemas/resources.ts';
import { api, enc } from '../api-client.ts';
import { deferralWindows } from '../deferral-windows.ts';

export const GRID_RUNS = 25;

export class DagModel {
  runs: ApiDagRun[] = [];
  readonly tis = new Map<string, Map<string, ApiTaskInstance>>();
  order: string[] = [];

  constructor(
    readonly dag: ApiDag,
    readonly tasks: ApiTask[],
  ) {
    this.order = topological(tasks);
  }

  static async load(dagId: string): Promise<DagModel> {
    const [dag, { tasks }] = await Promise.all([api<ApiDag>(`/dags/${enc(dagId)}`), api<{ tasks: ApiTask[] }>(`/dags/${enc(dagId)}/tasks`)]);
    const m = new DagModel(dag, tasks);
    await m.reloadRuns();
    return m;
  }

  async reloadRuns(): Promise<void> {
    const id = enc(this.dag.dag_id);
    const { dag_runs } = await api<{ dag_runs: ApiDagRun[] }>(`/dags/${id}/dagRuns?limit=${GRID_RUNS}&order_by=-logical_date`);
    this.runs = dag_runs.reverse();
    const { task_instances } = await api<{ task_instances: ApiTaskInstance[] }>(`/dags/${id}/dagRuns/~/taskInstances?limit=100&order_by=-updated_at`);
    this.tis.clear();
    // One page of the DAG's TIs covers small DAGs; larger ones load per run.
    const runIds = new Set(this.runs.map((r) => r.dag_run_id));
    for (const ti of task_instances) if (runIds.has(ti.dag_run_id)) this.putTi(ti);
    const missing = this.runs.filter((r) => (this.tis.get(r.dag_run_id)?.size ?? 0) < this.tasks.length);
    await Promise.all(missing.map((r) => this.reloadRun(r.dag_run_id)));
  }

  async reloadRun(runId: string): Promise<void> {
    const { task_instances } = await api<{ task_instances: ApiTaskInstance[] }>(`/dags/${enc(this.dag.dag_id)}/dagRuns/${enc(runId)}/taskInstances?limit=100`);
    for (const ti of task_instances) this.putTi(ti);
  }

  /** Keep the newer version (a late poll result must not roll a state back). */
  putTi(ti: ApiTaskInstance): boolean {
    deferralWindows.record(ti);
    let byTask = this.tis.get(ti.dag_run_id);
    if (!byTask) this.tis.set(ti.dag_run_id, (byTask = new Map()));
    const old = byTask.get(ti.task_id);
    if (old && old.version > ti.version) return false;
    // Live changes carry no trigger details; keep the ones we fetched while the TI still waits.
    if (old && !ti.trigger && old.trigger && ti.state === 'deferred') ti = { ...ti, trigger: old.trigger, triggerer_job: old.triggerer_job };
    byTask.set(ti.task_id, ti);
    return true;
  }

  ti(runId: string, taskId: string): ApiTaskInstance | undefined {
    return this.tis.get(runId)?.get(taskId);
  }

  run(runId: string): ApiDagRun | undefined {
    return this.runs.find((r) => r.dag_run_id === runId);
  }

  putRun(run: ApiDagRun): 'updated' | 'new' {
    const i = this.runs.findIndex((r) => r.dag_run_id === run.dag_run_id);
    if (i >= 0) {
      this.runs[i] = run;
      return 'updated';
    }
    return 'new';
  }
}

export function tiKey(runId: string, taskId: string): string {
  return `${runId}|${taskId}`;
}

function topological(tasks: ApiTask[]): string[] {
  const indeg = new Map(tasks.map((t) => [t.task_id, t.upstream_task_ids.length]));
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const ready = tasks.filter((t) => t.upstream_task_ids.length === 0).map((t) => t.task_id);
  const out: string[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    out.push(id);
    for (const d of byId.get(id)?.downstream_task_ids ?? []) {
      const n = (indeg.get(d) ?? 1) - 1;
      indeg.set(d, n);
      if (n === 0) ready.push(d);
    }
  }
  for (const t of tasks) if (!out.includes(t.task_id)) out.push(t.task_id);
  return out;
}
