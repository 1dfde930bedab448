/** Browse → DAG runs: every DAG's runs, filtered by DAG, state and logical date (POST /dags/~/dagRuns/list). */
import type { ApiDagRun } from '../../../api/serializers.ts';
import { api, enc } from '../api-client.ts';
import { clear, fmtDate, h, hashQuery, table } from '../dom.ts';
import { stateColor, stateTextColor } from '../state-colors.ts';
import type { Page } from '../main.ts';
import { dayEnd, dayStart, filterForm, PAGE, pager } from './list-kit.ts';

const STATES: Array<[string, string]> = [['', 'any state'], ...['queued', 'running', 'success', 'failed'].map((s): [string, string] => [s, s])];

export function badge(state: string | null): HTMLElement {
  return h('span', { class: 'badge', 'data-state': state ?? 'none', style: { background: stateColor(state), color: stateTextColor(state) } }, state ?? 'none');
}

export function renderDagRuns(root: HTMLElement): Page {
  const q = hashQuery();
  const body = h('div', { class: 'list-body' });
  root.append(
    h('h1', {}, 'DAG runs'),
    filterForm('browse/dag-runs', [
      { name: 'dag_id', label: 'DAG', placeholder: 'any DAG' },
      { name: 'state', label: 'State', options: STATES },
      { name: 'from', label: 'Logical date from', type: 'date' },
      { name: 'to', label: 'to', type: 'date' },
    ]),
    body,
  );
  let offset = 0;
  async function load(): Promise<void> {
    const form: Record<string, unknown> = { page_offset: offset, page_limit: PAGE, order_by: '-logical_date' };
    if (q.get('dag_id')) form.dag_ids = [q.get('dag_id')];
    if (q.get('state')) form.states = [q.get('state')];
    if (q.get('from')) form.execution_date_gte = dayStart(q.get('from'));
    if (q.get('to')) form.execution_date_lte = dayEnd(q.get('to'));
    const { dag_runs, total_entries } = await api<{ dag_runs: ApiDagRun[]; total_entries: number }>('/dags/~/dagRuns/list', { method: 'POST', body: form });
    clear(body);
    body.append(
      table(
        'dag-runs',
        ['DAG', 'Run', 'State', 'Logical date', 'Started', 'Ended', 'Type', 'Note'],
        dag_runs.map((r) =>
          h(
            'tr',
            { 'data-run': `${r.dag_id}|${r.dag_run_id}` },
            h('td', {}, h('a', { href: `#/dags/${enc(r.dag_id)}/grid` }, r.dag_id)),
            h('td', {}, h('a', { href: `#/dags/${enc(r.dag_id)}/grid/${enc(r.dag_run_id)}` }, r.dag_run_id)),
            h('td', {}, badge(r.state)),
            h('td', { class: 'small' }, fmtDate(r.logical_date)),
            h('td', { class: 'small' }, fmtDate(r.start_date)),
            h('td', { class: 'small' }, fmtDate(r.end_date)),
            h('td', {}, r.run_type),
            h('td', { class: 'small' }, r.note ?? ''),
          ),
        ),
      ),
      pager(total_entries, offset, (o) => {
        offset = o;
        void load();
      }),
    );
  }
  load().catch((e: Error) => body.append(h('p', { class: 'error' }, e.message)));
  return { dispose: () => {} };
}
