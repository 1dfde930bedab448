/** DAG list: import errors, pause toggles, the last runs' states, live. */
import type { ApiDag, ApiDagRun } from '../../../api/schemas/resources.ts';
import { api, enc } from '../api-client.ts';
import { clear, fmtDate, h } from '../dom.ts';
import { onLiveChange } from '../live-events.ts';
import { stateColor } from '../state-colors.ts';
import type { Page } from '../main.ts';

interface ImportErrorRow {
  import_error_id: string;
  filename: string;
  stack_trace: string;
  timestamp: string;
}

const RECENT_RUNS = 8;

export function renderDagList(root: HTMLElement): Page {
  const errorsBox = h('section', { class: 'import-errors' });
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'dag-table' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', {}, 'Active'), h('th', {}, 'DAG'), h('th', {}, 'Schedule'), h('th', {}, 'Tags'), h('th', {}, 'Recent runs'), h('th', {}, 'Next run')),
    ),
    tbody,
  );
  root.append(h('h1', {}, 'DAGs'), errorsBox, table);
  const runCells = new Map<string, HTMLElement>();

  async function loadRuns(dagId: string): Promise<void> {
    const cell = runCells.get(dagId);
    if (!cell) return;
    const { dag_runs } = await api<{ dag_runs: ApiDagRun[] }>(`/dags/${enc(dagId)}/dagRuns?limit=${RECENT_RUNS}&order_by=-logical_date`);
    clear(cell);
    for (const r of dag_runs.reverse()) {
      cell.append(
        h('a', {
          class: 'run-dot',
          href: `#/dags/${enc(dagId)}/grid/${enc(r.dag_run_id)}`,
          title: `${r.dag_run_id}: ${r.state}`,
          'data-run-state': r.state,
          style: { background: stateColor(r.state) },
        }),
      );
    }
    if (!dag_runs.length) cell.append(h('span', { class: 'muted' }, 'no runs'));
  }

  async function load(): Promise<void> {
    const [{ dags }, { import_errors }] = await Promise.all([
      api<{ dags: ApiDag[] }>('/dags?limit=100'),
      api<{ import_errors: ImportErrorRow[] }>('/importErrors'),
    ]);
    clear(errorsBox);
    if (import_errors.length) {
      errorsBox.append(
        h('h2', {}, `Import errors (${import_errors.length})`),
        ...import_errors.map((e) =>
          h('details', { class: 'import-error' }, h('summary', {}, `${e.filename} — ${fmtDate(e.timestamp)}`), h('pre', {}, e.stack_trace)),
        ),
      );
    }
    clear(tbody);
    runCells.clear();
    for (const d of dags) {
      const toggle = h('input', {
        type: 'checkbox',
        class: 'pause-toggle',
        'data-dag-id': d.dag_id,
        title: d.is_paused ? 'Paused: click to unpause' : 'Active: click to pause',
      });
      toggle.checked = !d.is_paused;
      toggle.addEventListener('change', async () => {
        toggle.disabled = true;
        try {
          await api(`/dags/${enc(d.dag_id)}`, { method: 'PATCH', body: { is_paused: !toggle.checked } });
        } catch (e) {
          toggle.checked = !toggle.checked;
          alert((e as Error).message);
        } finally {
          toggle.disabled = false;
        }
      });
      const runs = h('td', { class: 'recent-runs' });
      runCells.set(d.dag_id, runs);
      tbody.append(
        h(
          'tr',
          { 'data-dag-id': d.dag_id },
          h('td', {}, toggle),
          h('td', {}, h('a', { href: `#/dags/${enc(d.dag_id)}/grid` }, d.dag_id), d.description ? h('div', { class: 'muted small' }, d.description) : null),
          h('td', {}, d.schedule_interval?.value ?? 'None', h('div', { class: 'muted small' }, d.timetable_description)),
          h(
            'td',
            {},
            d.tags.map((t) => h('span', { class: 'tag' }, t.name)),
          ),
          runs,
          h('td', {}, fmtDate(d.next_dagrun)),
        ),
      );
      void loadRuns(d.dag_id);
    }
    if (!dags.length)
      tbody.append(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No DAGs yet: put DAG files in the dags folder and start the DAG processor.')));
  }

  const pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const off = onLiveChange((c) => {
    if (c.kind !== 'dag_run') return;
    pending.add(c.run.dag_id);
    timer ??= setTimeout(() => {
      timer = null;
      for (const id of pending) void loadRuns(id);
      pending.clear();
    }, 300);
  });
  load().catch((e: Error) => root.append(h('p', { class: 'error' }, e.message)));
  return {
    dispose: () => {
      off();
      if (timer) clearTimeout(timer);
    },
  };
}
