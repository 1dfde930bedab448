/**
 * One DAG: header (pause, trigger with conf), Grid / Graph / Gantt of its runs, run actions, and
 * the task instance panel. Live changes update the model and repaint cells and nodes in place; a
 * run the page has not seen yet triggers a reload of the run list.
 */
import type { ApiDagRun } from '../../../api/serializers.ts';
import { api, enc } from '../api-client.ts';
import { clear, fmtDate, h } from '../dom.ts';
import { onLiveChange } from '../live-events.ts';
import { RUNNING_STATES, stateColor, stateTextColor } from '../state-colors.ts';
import type { Page } from '../main.ts';
import { DagModel } from '../views/dag-model.ts';
import { paintRun, paintTi, renderGrid } from '../views/grid-view.ts';
import { paintGraphText, renderGraph } from '../views/graph-view.ts';
import { renderGantt } from '../views/gantt-view.ts';
import { TiPanel } from '../views/ti-panel.ts';
import { triggerForm } from '../views/trigger-form.ts';

type View = 'grid' | 'graph' | 'gantt';

export function renderDagPage(root: HTMLElement, dagId: string, view: View, runParam?: string, taskParam?: string): Page {
  let model: DagModel | null = null;
  let selectedRun: string | null = runParam ?? null;
  let selectedTask: string | null = null;
  let disposed = false;
  const header = h('div', { class: 'dag-header' });
  const runInfo = h('div', { class: 'run-info' });
  const viewBox = h('div', { class: `view view-${view}` });
  const panel = new TiPanel(dagId, () => {
    selectedTask = null;
    panel.el.remove();
    panel.dispose();
    repaintSelection();
  });
  const layout = h('div', { class: 'dag-layout' }, viewBox);
  const formBox = h('div', { class: 'form-box' });
  const tabsBox = h('div', { class: 'tabs-box' });
  root.append(header, formBox, tabsBox, runInfo, layout);

  function tabs(): HTMLElement {
    const link = (v: View, label: string) =>
      h(
        'a',
        { class: `tab${v === view ? ' active' : ''}`, 'data-view': v, href: `#/dags/${enc(dagId)}/${v}${selectedRun ? `/${enc(selectedRun)}` : ''}` },
        label,
      );
    return h('nav', { class: 'tabs' }, link('grid', 'Grid'), link('graph', 'Graph'), link('gantt', 'Gantt'));
  }

  function renderHeader(): void {
    const m = model!;
    clear(header);
    const toggle = h('input', { type: 'checkbox', class: 'pause-toggle' });
    toggle.checked = !m.dag.is_paused;
    toggle.addEventListener('change', async () => {
      try {
        const d = await api<{ is_paused: boolean }>(`/dags/${enc(dagId)}`, { method: 'PATCH', body: { is_paused: !toggle.checked } });
        m.dag.is_paused = d.is_paused;
      } catch (e) {
        toggle.checked = !toggle.checked;
        alert((e as Error).message);
      }
    });
    header.append(
      h('h1', {}, h('label', { class: 'pause-label', title: 'Active (unpaused)' }, toggle), ' ', m.dag.dag_id),
      h('div', { class: 'muted' }, m.dag.description ?? '', ' · ', m.dag.timetable_description, ' · ', m.dag.fileloc),
      h('button', { class: 'primary trigger-btn', onclick: () => void openTrigger() }, '▶ Trigger'),
    );
  }

  async function openTrigger(): Promise<void> {
    // Params with their types, descriptions and enums, as DAG details serialize them.
    const details = await api<{ params: unknown }>(`/dags/${enc(dagId)}/details`).catch(() => ({ params: model!.dag.params }));
    clear(formBox);
    formBox.append(
      triggerForm(
        model!.dag,
        async (run) => {
          clear(formBox);
          selectedRun = run.dag_run_id;
          await model!.reloadRuns();
          renderView();
        },
        () => clear(formBox),
        details.params,
      ),
    );
  }

  function currentRun(): ApiDagRun | undefined {
    const m = model!;
    return (selectedRun ? m.run(selectedRun) : undefined) ?? m.runs[m.runs.length - 1];
  }

  function renderRunInfo(): void {
    clear(runInfo);
    const run = currentRun();
    if (!run) return;
    const act = (label: string, cls: string, fn: () => Promise<unknown>) =>
      h('button', { class: `action ${cls}`, 'data-action': cls, onclick: () => fn().catch((e: Error) => alert(e.message)) }, label);
    const base = `/dags/${enc(dagId)}/dagRuns/${enc(run.dag_run_id)}`;
    runInfo.append(
      h(
        'span',
        { class: 'badge run-state', 'data-state': run.state, style: { background: stateColor(run.state), color: stateTextColor(run.state) } },
        run.state,
      ),
      ' ',
      h('strong', {}, run.dag_run_id),
      h('span', { class: 'muted' }, ` · logical ${fmtDate(run.logical_date)} · started ${fmtDate(run.start_date)} · ended ${fmtDate(run.end_date)}`),
      run.dag_version ? h('span', { class: 'muted', title: 'DAG version this run started with' }, ` · version ${run.dag_version}`) : '',
      run.dag_load_error ? h('div', { class: 'error run-load-error', 'data-role': 'dag-load-error' }, `DAG cannot be loaded: ${run.dag_load_error}`) : '',
      Object.keys((run.conf ?? {}) as object).length ? h('code', { class: 'conf-inline' }, JSON.stringify(run.conf)) : '',
      h(
        'span',
        { class: 'actions' },
        act('Clear run', 'clear-run', () => api(`${base}/clear`, { method: 'POST', body: { dry_run: false } })),
        act('Mark run success', 'run-success', () => api(base, { method: 'PATCH', body: { state: 'success' } })),
        act('Mark run failed', 'run-failed', () => api(base, { method: 'PATCH', body: { state: 'failed' } })),
      ),
    );
  }

  const selectRun = (runId: string) => {
    selectedRun = runId;
    history.replaceState(null, '', `#/dags/${enc(dagId)}/${view}/${enc(runId)}`);
    renderView();
  };
  const selectTi = (runId: string, taskId: string) => {
    const changedRun = runId !== selectedRun;
    selectedRun = runId;
    selectedTask = taskId;
    const ti = model!.ti(runId, taskId);
    if (changedRun) renderView();
    else repaintSelection();
    if (!ti) return;
    // Fetch the full TI (with trigger details) for the panel.
    void api<typeof ti>(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}`).then((full) => {
      model!.putTi(full);
      if (!panel.el.isConnected) layout.append(panel.el);
      panel.show(full);
    });
  };

  function repaintSelection(): void {
    for (const el of Array.from(viewBox.querySelectorAll('.ti-cell.selected, .run-bar.selected'))) el.classList.remove('selected');
    if (selectedRun) viewBox.querySelector(`.run-bar[data-run="${CSS.escape(selectedRun)}"]`)?.classList.add('selected');
    if (selectedRun && selectedTask) viewBox.querySelector(`.ti-cell[data-ti="${CSS.escape(`${selectedRun}|${selectedTask}`)}"]`)?.classList.add('selected');
  }

  let ganttTimer: ReturnType<typeof setInterval> | null = null;
  function renderView(): void {
    const m = model!;
    clear(viewBox);
    clear(tabsBox);
    tabsBox.append(tabs());
    renderRunInfo();
    const run = currentRun();
    if (view === 'grid') viewBox.append(renderGrid(m, { runId: run?.dag_run_id ?? null, taskId: selectedTask }, { selectRun, selectTi }));
    else if (view === 'graph') viewBox.append(renderGraph(m, run?.dag_run_id ?? null, selectTi));
    else viewBox.append(renderGantt(m, run?.dag_run_id ?? null, selectTi));
    if (ganttTimer) clearInterval(ganttTimer);
    ganttTimer = null;
    // The Gantt grows while something in the run is still going.
    if (view === 'gantt' && run) {
      ganttTimer = setInterval(() => {
        const live = [...(m.tis.get(run.dag_run_id)?.values() ?? [])].some((t) => RUNNING_STATES.has(t.state ?? ''));
        if (live) {
          clear(viewBox);
          viewBox.append(renderGantt(m, run.dag_run_id, selectTi));
        }
      }, 1000);
    }
  }

  let reloadPending = false;
  async function reloadRuns(): Promise<void> {
    if (reloadPending) return;
    reloadPending = true;
    try {
      await model!.reloadRuns();
      if (!disposed) renderView();
    } finally {
      reloadPending = false;
    }
  }

  const off = onLiveChange((c) => {
    if (!model || disposed) return;
    if (c.kind === 'dag_run' && c.run.dag_id === dagId) {
      if (model.putRun(c.run) === 'new') return void reloadRuns();
      paintRun(viewBox, c.run.dag_run_id, c.run.state);
      if (c.run.dag_run_id === currentRun()?.dag_run_id) renderRunInfo();
    } else if (c.kind === 'task_instance' && c.ti.dag_id === dagId) {
      const ti = c.ti;
      if (!model.run(ti.dag_run_id)) return void reloadRuns();
      if (!model.putTi(ti)) return;
      const stored = model.ti(ti.dag_run_id, ti.task_id)!;
      if (!paintTi(viewBox, ti.dag_run_id, ti.task_id, ti.state) && view === 'grid') renderView();
      if (view === 'graph') paintGraphText(viewBox, ti.dag_run_id, ti.task_id, ti.state);
      if (view === 'gantt' && ti.dag_run_id === currentRun()?.dag_run_id) {
        clear(viewBox);
        viewBox.append(renderGantt(model, ti.dag_run_id, selectTi));
      }
      if (panel.key === `${ti.dag_run_id}|${ti.task_id}`) {
        // Trigger details are not in live changes; refetch them when a TI enters deferral.
        if (ti.state === 'deferred' && !stored.trigger) {
          void api<typeof ti>(`/dags/${enc(dagId)}/dagRuns/${enc(ti.dag_run_id)}/taskInstances/${enc(ti.task_id)}`).then((full) => {
            model!.putTi(full);
            panel.show(model!.ti(full.dag_run_id, full.task_id)!);
          });
        } else panel.show(stored);
      }
    }
  });

  DagModel.load(dagId)
    .then((m) => {
      if (disposed) return;
      model = m;
      renderHeader();
      renderView();
      // A link to a task instance (#/dags/<dag>/<view>/<run>/<task>, e.g. from the deferrals page) opens its panel.
      if (runParam && taskParam) selectTi(runParam, taskParam);
    })
    .catch((e: Error) => root.append(h('p', { class: 'error' }, e.message)));

  return {
    dispose() {
      disposed = true;
      off();
      panel.dispose();
      if (ganttTimer) clearInterval(ganttTimer);
    },
  };
}
