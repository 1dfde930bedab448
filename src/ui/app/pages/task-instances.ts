/**
 * Browse → Task instances: across DAGs and runs, filtered by DAG, state and logical date (POST
 * /dags/~/dagRuns/~/taskInstances/list); "Deferred now" is one click. Each row opens the task
 * instance panel of its run.
 */
import type { ApiTaskInstance } from '../../../api/schemas/resources.ts';
import { api, enc } from '../api-client.ts';
import { fmtDate, fmtDuration, h, hashQuery, table } from '../dom.ts';
import type { Page } from '../main.ts';
import { TI_STATE_NAMES } from '../state-colors.ts';
import { badge } from './dag-runs.ts';
import { dayEnd, dayStart, filterForm, PAGE, pagedList } from './list-kit.ts';

export function renderTaskInstances(root: HTMLElement): Page {
  const q = hashQuery();
  const body = h('div', { class: 'list-body' });
  root.append(
    h('h1', {}, 'Task instances'),
    filterForm(
      'browse/task-instances',
      [
        { name: 'dag_id', label: 'DAG', placeholder: 'any DAG' },
        { name: 'state', label: 'State', options: [['', 'any state'], ...TI_STATE_NAMES.map((s): [string, string] => [s, s])] },
        { name: 'from', label: 'Logical date from', type: 'date' },
        { name: 'to', label: 'to', type: 'date' },
      ],
      [h('a', { class: 'button deferred-now', href: '#/browse/task-instances?state=deferred', 'data-role': 'deferred-now' }, 'Deferred now')],
    ),
    body,
  );
  pagedList(body, async (offset) => {
    const form: Record<string, unknown> = { page_offset: offset, page_limit: PAGE, order_by: q.get('state') === 'deferred' ? 'deferred_at' : '-logical_date' };
    if (q.get('dag_id')) form.dag_ids = [q.get('dag_id')];
    if (q.get('state')) form.state = [q.get('state') === 'none' ? null : q.get('state')];
    if (q.get('from')) form.execution_date_gte = dayStart(q.get('from'));
    if (q.get('to')) form.execution_date_lte = dayEnd(q.get('to'));
    const { task_instances, total_entries } = await api<{ task_instances: ApiTaskInstance[]; total_entries: number }>('/dags/~/dagRuns/~/taskInstances/list', {
      method: 'POST',
      body: form,
    });
    const now = Date.now();
    return {
      table: table(
        'task-instances',
        ['DAG', 'Run', 'Task', 'State', 'Try', 'Started', 'Duration', 'Deferred', 'Waits on', 'Worker'],
        task_instances.map((t) =>
          h(
            'tr',
            { 'data-ti': `${t.dag_id}|${t.dag_run_id}|${t.task_id}` },
            h('td', {}, h('a', { href: `#/dags/${enc(t.dag_id)}/grid` }, t.dag_id)),
            h('td', { class: 'small' }, t.dag_run_id),
            h('td', {}, h('a', { href: `#/dags/${enc(t.dag_id)}/grid/${enc(t.dag_run_id)}/${enc(t.task_id)}` }, t.task_id)),
            h('td', {}, badge(t.state)),
            h('td', {}, String(t.try_number)),
            h('td', { class: 'small' }, fmtDate(t.start_date)),
            h('td', {}, t.duration != null ? fmtDuration(t.duration * 1000) : '—'),
            h(
              'td',
              {},
              t.state === 'deferred' && t.deferred_at
                ? `for ${fmtDuration(now - Date.parse(t.deferred_at))}`
                : t.deferred_ms
                  ? fmtDuration(t.deferred_ms)
                  : '—',
            ),
            h('td', { class: 'small' }, t.trigger?.description ?? t.deferrals.at(-1)?.waited_on ?? '—'),
            h('td', { class: 'small' }, t.hostname || '—'),
          ),
        ),
      ),
      total: total_entries,
    };
  });
  return { dispose: () => {} };
}
