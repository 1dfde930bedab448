/** Browse → Audit log: who triggered, cleared, marked, paused, deleted or changed what, and when (/eventLogs). */
import type { ApiEventLog } from '../../../api/serializers.ts';
import { api, enc } from '../api-client.ts';
import { clear, fmtDate, h, hashQuery, table } from '../dom.ts';
import type { Page } from '../main.ts';
import { dayEnd, dayStart, filterForm, PAGE, pager } from './list-kit.ts';

/** The entry's details without the source (shown in its own column). */
function details(extra: string | null): { source: string; text: string } {
  try {
    const { source, ...rest } = JSON.parse(extra ?? '{}') as Record<string, unknown>;
    const text = Object.entries(rest)
      .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(', ');
    return { source: String(source ?? ''), text };
  } catch {
    return { source: '', text: extra ?? '' };
  }
}

export function renderAuditLog(root: HTMLElement): Page {
  const q = hashQuery();
  const body = h('div', { class: 'list-body' });
  root.append(
    h('h1', {}, 'Audit log'),
    filterForm('browse/audit-log', [
      { name: 'dag_id', label: 'DAG', placeholder: 'any DAG' },
      { name: 'event', label: 'Event', placeholder: 'e.g. trigger, clear, variable.update' },
      { name: 'owner', label: 'Who', placeholder: 'anyone' },
      { name: 'from', label: 'From', type: 'date' },
      { name: 'to', label: 'to', type: 'date' },
    ]),
    body,
  );
  let offset = 0;
  async function load(): Promise<void> {
    const p = new URLSearchParams({ limit: String(PAGE), offset: String(offset), order_by: '-when' });
    for (const k of ['dag_id', 'event', 'owner']) if (q.get(k)) p.set(k, q.get(k)!);
    if (q.get('from')) p.set('after', dayStart(q.get('from'))!);
    if (q.get('to')) p.set('before', dayEnd(q.get('to'))!);
    const { event_logs, total_entries } = await api<{ event_logs: ApiEventLog[]; total_entries: number }>(`/eventLogs?${p}`);
    clear(body);
    body.append(
      table(
        'audit-log',
        ['When', 'Who', 'Event', 'DAG', 'Run', 'Task', 'Via', 'Details'],
        event_logs.map((e) => {
          const d = details(e.extra);
          return h(
            'tr',
            { 'data-event': e.event },
            h('td', { class: 'small' }, fmtDate(e.when)),
            h('td', {}, e.owner ?? '—'),
            h('td', {}, h('code', {}, e.event)),
            h('td', {}, e.dag_id ? h('a', { href: `#/dags/${enc(e.dag_id)}/grid` }, e.dag_id) : '—'),
            h('td', { class: 'small' }, e.run_id ?? '—'),
            h('td', {}, e.task_id ?? '—'),
            h('td', { class: 'small' }, d.source),
            h('td', { class: 'small' }, d.text),
          );
        }),
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
