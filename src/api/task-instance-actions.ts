/**
 * Clear and mark, as the API and UI do them: each task instance through its guarded transition,
 * then the side effects Airflow performs (delete the trigger a deferred task waited on, requeue the
 * run so the scheduler picks the cleared tasks up). A transition that loses a race to a concurrent
 * writer is retried on the fresh document a few times; after that the row is reported as skipped.
 */
import type { DagDoc, TaskInstanceDoc } from '../store/schema.ts';
import { dagRunId } from '../store/schema.ts';
import type { ApiContext } from './api-context.ts';

const ATTEMPTS = 3;

export async function clearTaskInstances(
  ctx: ApiContext,
  dag: DagDoc | null,
  tis: TaskInstanceDoc[],
  opts: { resetDagRuns: boolean },
): Promise<TaskInstanceDoc[]> {
  const cleared: TaskInstanceDoc[] = [];
  for (const ti of tis) {
    let before: TaskInstanceDoc | null = null;
    for (let i = 0; i < ATTEMPTS && !before; i++) before = await ctx.tis.clear(ti._id, ctx.retriesOf(dag, ti.task_id));
    if (!before) continue;
    cleared.push(before);
    if (before.trigger_id) await ctx.triggers.delete(before.trigger_id);
  }
  if (opts.resetDagRuns) {
    for (const id of new Set(cleared.map((t) => dagRunId(t.dag_id, t.run_id)))) await ctx.runs.requeue(id);
  }
  return cleared;
}

export async function markTaskInstances(ctx: ApiContext, tis: TaskInstanceDoc[], state: 'success' | 'failed' | 'skipped'): Promise<TaskInstanceDoc[]> {
  const marked: TaskInstanceDoc[] = [];
  for (const ti of tis) {
    if (ti.state === state) continue;
    let before: TaskInstanceDoc | null = null;
    for (let i = 0; i < ATTEMPTS && !before; i++) before = await ctx.tis.markState(ti._id, state);
    if (!before) continue;
    marked.push(before);
    if (before.trigger_id) await ctx.triggers.delete(before.trigger_id);
  }
  return marked;
}

/** Task ids reachable from `start` along `downstream_task_ids` (or upstream), `start` excluded. */
export function relatives(dag: DagDoc, start: string[], direction: 'downstream' | 'upstream'): string[] {
  const byId = new Map(dag.tasks.map((t) => [t.task_id, t]));
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length) {
    const id = stack.pop()!;
    const t = byId.get(id);
    for (const next of (direction === 'downstream' ? t?.downstream_task_ids : t?.upstream_task_ids) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  for (const s of start) seen.delete(s);
  return [...seen];
}
