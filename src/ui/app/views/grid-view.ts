/** Grid: runs × tasks, each cell in its state's colour; repainted in place by live changes. */
import { h } from '../dom.ts';
import { stateColor } from '../state-colors.ts';
import type { ApiDagRun } from '../../../api/schemas/resources.ts';
import { tiKey, type DagModel } from './dag-model.ts';

export interface GridHandlers {
  selectRun(runId: string): void;
  selectTi(runId: string, taskId: string): void;
}

export function renderGrid(model: DagModel, selected: { runId: string | null; taskId: string | null }, on: GridHandlers): HTMLElement {
  const head = h('tr', {}, h('th', { class: 'task-col' }, 'Task'));
  for (const r of model.runs) {
    head.append(
      h(
        'th',
        { class: 'run-col' },
        h('button', {
          class: `run-bar${r.dag_run_id === selected.runId ? ' selected' : ''}`,
          'data-run': r.dag_run_id,
          title: runTitle(r),
          style: { background: stateColor(r.state) },
          onclick: () => on.selectRun(r.dag_run_id),
        }),
      ),
    );
  }
  const body = h('tbody');
  for (const taskId of model.order) {
    const row = h('tr', {}, h('th', { class: 'task-col', title: taskId }, taskId));
    for (const r of model.runs) {
      const ti = model.ti(r.dag_run_id, taskId);
      const state = ti?.state ?? null;
      row.append(
        h(
          'td',
          {},
          h('button', {
            class: `ti-cell${r.dag_run_id === selected.runId && taskId === selected.taskId ? ' selected' : ''}`,
            'data-ti': tiKey(r.dag_run_id, taskId),
            'data-state': state ?? 'none',
            title: `${taskId} @ ${r.dag_run_id}: ${state ?? 'none'}`,
            style: { background: stateColor(state) },
            onclick: () => on.selectTi(r.dag_run_id, taskId),
          }),
        ),
      );
    }
    body.append(row);
  }
  if (!model.runs.length) body.append(h('tr', {}, h('td', { class: 'muted' }, 'No runs yet — trigger one.')));
  return h('div', { class: 'grid-wrap' }, h('table', { class: 'grid' }, h('thead', {}, head), body));
}

/** Repaint one cell (and graph node) after a live change, without rebuilding anything. */
export function paintTi(container: HTMLElement, runId: string, taskId: string, state: string | null): boolean {
  const key = CSS.escape(tiKey(runId, taskId));
  let found = false;
  for (const el of Array.from(container.querySelectorAll<HTMLElement | SVGElement>(`[data-ti="${key}"]`))) {
    found = true;
    el.dataset.state = state ?? 'none';
    if (el instanceof HTMLElement) {
      el.style.background = stateColor(state);
      el.title = `${taskId} @ ${runId}: ${state ?? 'none'}`;
    } else {
      el.querySelector('rect')?.setAttribute('fill', stateColor(state));
    }
  }
  return found;
}

/** A run bar's tooltip: id, state and, while so, why its DAG cannot be loaded. */
function runTitle(r: Pick<ApiDagRun, 'dag_run_id' | 'state' | 'dag_load_error'>): string {
  return `${r.dag_run_id}\n${r.state}${r.dag_load_error ? `\nDAG cannot be loaded: ${r.dag_load_error}` : ''}`;
}

/** Repaint a run's bars after a live change: colour and the whole tooltip (a repaint must not drop the load error). */
export function paintRun(container: HTMLElement, run: Pick<ApiDagRun, 'dag_run_id' | 'state' | 'dag_load_error'>): void {
  for (const el of Array.from(container.querySelectorAll<HTMLElement>(`[data-run="${CSS.escape(run.dag_run_id)}"]`))) {
    el.style.background = stateColor(run.state);
    el.title = runTitle(run);
  }
}
