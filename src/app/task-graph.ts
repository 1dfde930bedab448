/**
 * The graph walk of clear and mark ("also upstream / downstream"), on the task summaries a DAG
 * processor stores — so it works in processes that never import DAG files (webserver, CLI).
 */
import type { DagTaskSummary } from '../store/schema.ts';

/** Task ids reachable from `start` along downstream (or upstream) edges, `start` itself excluded. */
export function relatives(dag: { tasks: ReadonlyArray<DagTaskSummary> }, start: ReadonlyArray<string>, direction: 'downstream' | 'upstream'): string[] {
  const byId = new Map(dag.tasks.map((t) => [t.task_id, t]));
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length) {
    const t = byId.get(stack.pop()!);
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

/** `taskIds` plus, as asked, their upstream and downstream relatives (each once, given ones first). */
export function withRelatives(
  dag: { tasks: ReadonlyArray<DagTaskSummary> } | null,
  taskIds: ReadonlyArray<string>,
  opts: { upstream?: boolean; downstream?: boolean },
): string[] {
  const ids = new Set(taskIds);
  if (dag && opts.downstream) for (const t of relatives(dag, taskIds, 'downstream')) ids.add(t);
  if (dag && opts.upstream) for (const t of relatives(dag, taskIds, 'upstream')) ids.add(t);
  return [...ids];
}
