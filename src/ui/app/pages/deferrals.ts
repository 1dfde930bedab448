/** Deferrals: what every deferred task waits on, since when, until when, who watches it; totals. Live. */
import type { ApiDeferral, DeferralTotals } from '../../../api/routes/deferrals.ts';
import { api, enc } from '../api-client.ts';
import { clear, fmtDate, fmtDuration, h } from '../dom.ts';
import { onLiveChange } from '../live-events.ts';
import type { Page } from '../main.ts';

const REFRESH_MS = 5000;

export function renderDeferrals(root: HTMLElement): Page {
  const totalsBox = h('section', { class: 'totals' });
  const tbody = h('tbody');
  root.append(
    h('h1', {}, 'Deferrals'),
    totalsBox,
    h(
      'table',
      { class: 'deferrals' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Task', 'Run', 'Try', 'Trigger', 'External job', 'Status', 'Deferred since', 'For', 'Deadline', 'Triggerer'].map((t) => h('th', {}, t)),
        ),
      ),
      tbody,
    ),
  );

  const card = (label: string, value: string, key: string) =>
    h('div', { class: 'card', 'data-total': key }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label));

  async function load(): Promise<void> {
    const { deferrals, total_entries, totals } = await api<{ deferrals: ApiDeferral[]; total_entries: number; totals: DeferralTotals }>('/deferrals?limit=100');
    clear(totalsBox);
    const lat = totals.event_to_resume_latency_ms;
    totalsBox.append(
      card('deferred now', String(totals.deferred_now), 'deferred_now'),
      card('worker slot time saved', fmtDuration(totals.worker_slot_seconds_saved * 1000), 'slot_seconds_saved'),
      card('event → resume p50 / p99', lat.p50 === null ? 'n/a' : `${fmtDuration(lat.p50)} / ${fmtDuration(lat.p99)}`, 'latency'),
      card(
        'lost events recovered by sweep',
        totals.lost_events_recovered_by_sweep === null ? 'n/a' : String(totals.lost_events_recovered_by_sweep),
        'recovered',
      ),
      card('unclaimed triggers', String(totals.unclaimed_triggers), 'unclaimed'),
      card('live triggerers', String(totals.live_triggerers), 'triggerers'),
    );
    clear(tbody);
    for (const d of deferrals) {
      const base = `#/dags/${enc(d.dag_id)}/grid/${enc(d.dag_run_id)}`;
      tbody.append(
        h(
          'tr',
          { 'data-ti': `${d.dag_id}|${d.dag_run_id}|${d.task_id}` },
          h('td', {}, h('a', { href: base }, `${d.dag_id}.${d.task_id}`)),
          h('td', { class: 'small' }, d.dag_run_id),
          h('td', {}, String(d.try_number)),
          h('td', { class: 'small' }, d.trigger_kind ?? '—'),
          h('td', {}, d.external_job ?? '—'),
          h('td', {}, h('span', { class: `status${d.triggerer && !d.triggerer.alive ? ' warn' : ''}` }, d.status)),
          h('td', { class: 'small' }, fmtDate(d.deferred_at)),
          h('td', {}, fmtDuration(d.deferred_for_ms)),
          h('td', { class: 'small' }, fmtDate(d.deadline)),
          h('td', { class: 'small' }, d.triggerer ? `${d.triggerer.hostname ?? d.triggerer.id}${d.triggerer.alive ? '' : ' (dead)'}` : 'unclaimed'),
        ),
      );
    }
    if (!deferrals.length) tbody.append(h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'Nothing is deferred right now.')));
    if (total_entries > deferrals.length) tbody.append(h('tr', {}, h('td', { colspan: 10, class: 'muted' }, `… and ${total_entries - deferrals.length} more`)));
  }

  let timer: ReturnType<typeof setTimeout> | null = null;
  const soon = () => {
    timer ??= setTimeout(() => {
      timer = null;
      void load().catch(() => {});
    }, 250);
  };
  // Any task or trigger change may enter or leave a deferral; reloads are coalesced.
  const off = onLiveChange((c) => {
    if (c.kind === 'trigger' || c.kind === 'task_instance') soon();
  });
  const interval = setInterval(() => void load().catch(() => {}), REFRESH_MS);
  load().catch((e: Error) => root.append(h('p', { class: 'error' }, e.message)));
  return {
    dispose: () => {
      off();
      clearInterval(interval);
      if (timer) clearTimeout(timer);
    },
  };
}
