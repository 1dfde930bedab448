/** Deferrals: what every deferred task waits on, since when, until when, who watches it; totals. Live. */
import type { ApiDeferral, DeferralTotals } from '../../../api/schemas/resources.ts';
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
          ...['Task', 'Run', 'Try', 'Trigger', 'External job', 'Job status', 'Deferred since', 'For', 'Deadline', 'Triggerer'].map((t) => h('th', {}, t)),
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
      card('oldest deferral', totals.oldest_deferral_ms === null ? '—' : fmtDuration(totals.oldest_deferral_ms), 'oldest'),
      card(
        lat.since ? `event → resume p50 / p99 (${lat.count} since ${fmtDate(lat.since)})` : 'event → resume p50 / p99 (no resume by event recorded yet)',
        lat.p50 === null ? '—' : `${fmtDuration(lat.p50)} / ${fmtDuration(lat.p99)}`,
        'latency',
      ),
      card('events: received / not ours / malformed', `${totals.events.received} / ${totals.events.not_ours} / ${totals.events.malformed}`, 'events'),
      card(
        totals.lost_events_recovered_by_sweep === null ? 'lost events recovered by sweep (no sweep recorded yet)' : 'lost events recovered by sweep',
        totals.lost_events_recovered_by_sweep === null ? '—' : String(totals.lost_events_recovered_by_sweep),
        'recovered',
      ),
      card('unclaimed triggers', String(totals.unclaimed_triggers), 'unclaimed'),
      card('live triggerers', String(totals.live_triggerers), 'triggerers'),
    );
    clear(tbody);
    for (const d of deferrals) {
      // Straight to the task instance panel of the run.
      const base = `#/dags/${enc(d.dag_id)}/grid/${enc(d.dag_run_id)}/${enc(d.task_id)}`;
      const status = d.job_status
        ? h(
            'span',
            { class: 'status job-status', title: `last seen ${fmtDate(d.job_status_seen_at)}` },
            `${d.job_status}${d.job_secondary_status ? ` (${d.job_secondary_status})` : ''}`,
            h('div', { class: 'muted small' }, `seen ${fmtDate(d.job_status_seen_at)}`),
          )
        : h('span', { class: `status${d.triggerer && !d.triggerer.alive ? ' warn' : ''}` }, '—', h('div', { class: 'muted small' }, d.status));
      const triggerer = d.triggerer
        ? h(
            'span',
            { title: d.triggerer.id },
            `${d.triggerer.hostname ?? '?'} pid ${d.triggerer.pid ?? '?'}`,
            h('div', { class: 'muted small' }, `${d.triggerer.id.slice(0, 8)}${d.triggerer.alive ? '' : ' (dead)'}`),
          )
        : 'unclaimed';
      tbody.append(
        h(
          'tr',
          { 'data-ti': `${d.dag_id}|${d.dag_run_id}|${d.task_id}` },
          h('td', {}, h('a', { href: base }, `${d.dag_id}.${d.task_id}`)),
          h('td', { class: 'small' }, d.dag_run_id),
          h('td', {}, String(d.try_number)),
          h('td', { class: 'small' }, d.trigger_kind ?? '—'),
          h('td', {}, d.external_job ?? '—'),
          h('td', { class: 'job-status-cell' }, status),
          h('td', { class: 'small' }, fmtDate(d.deferred_at)),
          h('td', {}, fmtDuration(d.deferred_for_ms)),
          h('td', { class: 'small' }, fmtDate(d.deadline)),
          h('td', { class: 'small triggerer-cell' }, triggerer),
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
