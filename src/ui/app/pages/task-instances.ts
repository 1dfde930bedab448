/**
 * Browse → Task instances: across DAGs and runs, filtered by DAG, state and logical date (POST
 * /dags/~/dagRuns/~/taskInstances/list); "Deferred now" is one click. Each row opens the task
 * instance panel of its run.
 */
import type { ApiTaskInstance } from '../../../api/serializers.ts';
import { api, enc } from '../api-client.ts';
import { clear, fmtDate, fmtDuration, h, hashQuery, table } from '../dom.ts';
import type { Page } from '../main.ts';
import { badge } from './dag-runs.ts';
import { dayEnd, dayStart, filterForm, PAGE, pager } from './list-kit.ts';

const STATES = [
  'none',
  'scheduled',
  'queued',
  'running',
  'deferred',
  'success',
  'failed',
  'up_for_retry',
  'up_for_reschedule',
  'upstream_failed',
  'skipped',
  'removed',
];

export function renderTaskInstances(root: HTMLElement): Page {
  const q = hashQuery();
  const body = h('div', { class: 'list-body' });
  root.append(
    h('h1', {}, 'Task instances'),
    filterForm(
      'browse/task-instances',
      [
        { name: 'dag_id', label: 'DAG', placeholder: 'any DAG' },
        { name: 'state', label: 'State', options: [['', 'any state'], ...STATES.map((s): [string, string] => [s, s])] },
        { name: 'from', label: 'Logical date from', type: 'date' },
        { name: 'to', label: 'to', type: 'date' },
      ],
      [h('a', { class: 'button deferred-now', href: '#/browse/task-instances?state=deferred', 'data-role': 'deferred-now' }, 'Deferred now')],
    ),
    body,
  );
  let offset = 0;
  async function load(): Promise<void> {
    const form: Record<string, unknown> = { page_offset: offset, page_limit: PAGE, order_by: q.get('state') === 'deferred' ? 'deferred_at' : '-logical_date' };
    if (q.get('dag_id')) form.dag_ids = [q.get('dag_id')];
    if (q.get('state')) form.state = [q.get('state') === 'none' ? null : q.get('state')];
    if (q.get('from')) form.execution_date_gte = dayStart(q.get('from'));
    if (q.get('to')) form.execution_date_lte = dayEnd(q.get('to'));
    const { task_instances, total_entries } = await api<{ task_instances: ApiTaskInstance[]; total_entries: number }>('/dags/~/dagRuns/~/taskInstances/list', {
      method: 'POST',
      body: form,
    });
    clear(body);
    const now = Date.now();
    body.append(
      table(
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
      pager(total_entries, offset, (o) => {
        offset = o;
        void load();
      }),
    );
  }
  load().catch((e: Error) => body.append(h('p', { class: 'error' }, e.message)));
  return { dispose: () => {} };
}
