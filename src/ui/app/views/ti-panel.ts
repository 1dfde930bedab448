/**
 * Task instance panel: details, clear / mark success / mark failed, and tabs for per-try logs
 * (tailed live while the try runs or is deferred), rendered template fields and XCom.
 */
import type { ApiDeferralWindow, ApiTaskInstance, ApiTaskInstanceTry } from '../../../api/serializers.ts';
import { api, enc } from '../api-client.ts';
import { clear, fmtDate, fmtDuration, h } from '../dom.ts';
import { stateColor, stateTextColor } from '../state-colors.ts';

interface LogPage {
  content: string;
  continuation_token: string;
  live: boolean;
}

const TAIL_MS = 1000;

export class TiPanel {
  readonly el = h('aside', { class: 'ti-panel' });
  private readonly details = h('div', { class: 'ti-details' });
  private readonly body = h('div', { class: 'ti-body' });
  private tab: 'logs' | 'tries' | 'rendered' | 'xcom' = 'logs';
  private logTry = 0;
  private tailTimer: ReturnType<typeof setTimeout> | null = null;
  private tailGen = 0;
  private ti: ApiTaskInstance | null = null;
  /** Ticks the "so far" duration of a try that is still going (running or deferred). */
  private clockTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly dagId: string,
    private readonly onClose: () => void,
  ) {}

  get key(): string | null {
    return this.ti ? `${this.ti.dag_run_id}|${this.ti.task_id}` : null;
  }

  show(ti: ApiTaskInstance): void {
    const sameTi = this.key === `${ti.dag_run_id}|${ti.task_id}`;
    this.ti = ti;
    if (!sameTi) {
      this.logTry = Math.max(1, ti.try_number);
      clear(this.el);
      const tabs = h(
        'div',
        { class: 'tabs small-tabs' },
        ...(['logs', 'tries', 'rendered', 'xcom'] as const).map((t) =>
          h(
            'button',
            { class: `tab${this.tab === t ? ' active' : ''}`, 'data-tab': t, onclick: () => this.switchTab(t) },
            t === 'logs' ? 'Logs' : t === 'tries' ? 'Tries' : t === 'rendered' ? 'Rendered' : 'XCom',
          ),
        ),
      );
      this.el.append(h('button', { class: 'close', title: 'Close', onclick: () => this.onClose() }, '×'), this.details, tabs, this.body);
      this.renderDetails();
      this.switchTab(this.tab);
      return;
    }
    this.renderDetails();
    // A new try started: follow it. A try that became live again: restart the tail.
    if (ti.try_number > this.logTry || (this.tab === 'logs' && !this.tailTimer)) {
      if (ti.try_number > this.logTry) this.logTry = ti.try_number;
      if (this.tab === 'logs') this.renderTab();
    }
    if (this.tab === 'rendered' || this.tab === 'xcom' || this.tab === 'tries') this.renderTab();
  }

  dispose(): void {
    this.stopTail();
    this.stopClock();
  }

  private stopClock(): void {
    if (this.clockTimer) clearInterval(this.clockTimer);
    this.clockTimer = null;
  }

  private stopTail(): void {
    this.tailGen++;
    if (this.tailTimer) clearTimeout(this.tailTimer);
    this.tailTimer = null;
  }

  private path(): string {
    const ti = this.ti!;
    return `/dags/${enc(this.dagId)}/dagRuns/${enc(ti.dag_run_id)}/taskInstances/${enc(ti.task_id)}`;
  }

  private renderDetails(): void {
    const ti = this.ti!;
    clear(this.details);
    const act = (label: string, cls: string, fn: () => Promise<unknown>) =>
      h(
        'button',
        {
          class: `action ${cls}`,
          'data-action': cls,
          onclick: async (e: Event) => {
            const b = e.currentTarget as HTMLButtonElement;
            b.disabled = true;
            try {
              await fn();
            } catch (err) {
              alert((err as Error).message);
            } finally {
              b.disabled = false;
            }
          },
        },
        label,
      );
    const downstream = h('input', { type: 'checkbox', id: 'clear-downstream' });
    const soFar = () => `${fmtDuration(Date.now() - Date.parse(ti.start_date!))} so far`;
    const duration = h('span', { class: 'ti-duration' }, ti.duration != null ? fmtDuration(ti.duration * 1000) : ti.start_date ? soFar() : '—');
    this.stopClock();
    if (ti.duration == null && ti.start_date) this.clockTimer = setInterval(() => (duration.textContent = soFar()), 1000);
    const rows: Array<[string, string | Node]> = [
      ['Run', ti.dag_run_id],
      ['Try', `${ti.try_number} of ${ti.max_tries + 1}`],
      ['Operator', ti.operator ?? '—'],
      // The try's first queueing: a resumed task is queued again (queued_when), after it started.
      ['Queued', fmtDate(ti.try_queued_at ?? ti.queued_when)],
      ['Started', fmtDate(ti.start_date)],
      ['Ended', fmtDate(ti.end_date)],
      ['Duration', duration],
      ['Worker', ti.hostname ? `${ti.hostname} (pid ${ti.pid ?? '?'})` : '—'],
    ];
    if (ti.queued_when && ti.try_queued_at && ti.queued_when !== ti.try_queued_at) rows.push(['Re-queued after resume', fmtDate(ti.queued_when)]);
    if (ti.deferred_at) rows.push(['Deferred at', fmtDate(ti.deferred_at)]);
    if (ti.trigger)
      rows.push(
        ['Trigger', `${ti.trigger.kind}${ti.trigger.description ? ` — ${ti.trigger.description}` : ''}`],
        [
          'Triggerer',
          ti.triggerer_job ? `${ti.triggerer_job.hostname ?? '?'} (pid ${ti.triggerer_job.pid}, ${ti.triggerer_job.job_id.slice(0, 8)})` : 'unclaimed',
        ],
      );
    if (ti.trigger?.last_status)
      rows.push([
        'Job status',
        `${ti.trigger.last_status}${ti.trigger.last_secondary_status ? ` (${ti.trigger.last_secondary_status})` : ''}, seen ${fmtDate(ti.trigger.last_seen_at)}`,
      ]);
    if (ti.trigger_timeout) rows.push(['Trigger timeout', fmtDate(ti.trigger_timeout)]);
    if (ti.deferred_ms) rows.push(['Slot time saved', fmtDuration(ti.deferred_ms)]);
    if (ti.last_error) rows.push(['Last error', h('pre', { class: 'error small' }, ti.last_error)]);
    rows.push(['Note', this.noteEditor(ti)]);
    this.details.append(
      h(
        'h3',
        {},
        ti.task_id,
        ' ',
        h(
          'span',
          { class: 'badge', 'data-state': ti.state ?? 'none', style: { background: stateColor(ti.state), color: stateTextColor(ti.state) } },
          ti.state ?? 'none',
        ),
      ),
      h(
        'table',
        { class: 'kv' },
        rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))),
      ),
      h(
        'div',
        { class: 'actions' },
        act('Clear', 'clear', () =>
          api(`/dags/${enc(this.dagId)}/clearTaskInstances`, {
            method: 'POST',
            body: { dry_run: false, task_ids: [ti.task_id], dag_run_id: ti.dag_run_id, only_failed: false, include_downstream: downstream.checked },
          }),
        ),
        h('label', { class: 'small' }, downstream, ' downstream'),
        act('Mark success', 'mark-success', () => api(this.path(), { method: 'PATCH', body: { dry_run: false, new_state: 'success' } })),
        act('Mark failed', 'mark-failed', () => api(this.path(), { method: 'PATCH', body: { dry_run: false, new_state: 'failed' } })),
      ),
    );
  }

  /** The note, editable in place (PATCH …/setNote). */
  private noteEditor(ti: ApiTaskInstance): HTMLElement {
    const input = h('input', { class: 'note-input', placeholder: 'add a note', 'data-role': 'ti-note' });
    input.value = ti.note ?? '';
    const save = h('button', { type: 'button', 'data-action': 'save-note' }, 'Save');
    save.addEventListener('click', async () => {
      save.disabled = true;
      try {
        await api(`${this.path()}/setNote`, { method: 'PATCH', body: { note: input.value } });
      } catch (e) {
        alert((e as Error).message);
      } finally {
        save.disabled = false;
      }
    });
    return h('span', { class: 'note-editor' }, input, ' ', save);
  }

  /** Every try (Airflow's task instance history): when, where, and where it waited deferred on what. */
  private async renderTries(): Promise<void> {
    const box = h('div', { class: 'tries' });
    this.body.append(box);
    const { task_instances } = await api<{ task_instances: ApiTaskInstanceTry[] }>(`${this.path()}/tries`);
    if (!task_instances.length) {
      box.append(h('p', { class: 'muted' }, 'Not started yet.'));
      return;
    }
    const select = h(
      'select',
      { class: 'try-history-select' },
      ...task_instances.map((t) => h('option', { value: t.try_number }, `Try ${t.try_number}: ${t.state ?? 'none'}`)),
    );
    const detail = h('div', { class: 'try-detail' });
    const show = () => {
      clear(detail);
      const t = task_instances.find((x) => String(x.try_number) === select.value)!;
      const rows: Array<[string, string]> = [
        ['State', t.state ?? 'none'],
        ['Queued', fmtDate(t.try_queued_at)],
        ['Started', fmtDate(t.start_date)],
        ['Ended', fmtDate(t.end_date)],
        ['Duration', t.duration != null ? fmtDuration(t.duration * 1000) : '—'],
        ['Worker', t.hostname ? `${t.hostname} (pid ${t.pid ?? '?'})` : '—'],
        ['Ended by', t.ended_by ?? (t.current ? 'still going' : '—')],
      ];
      if (t.last_error) rows.push(['Error', t.last_error]);
      detail.append(
        h(
          'table',
          { class: 'kv' },
          rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))),
        ),
        t.deferrals.length
          ? h(
              'table',
              { class: 'list deferral-windows', 'data-try': t.try_number },
              h(
                'thead',
                {},
                h('tr', {}, h('th', {}, 'Deferred'), h('th', {}, 'Resumed'), h('th', {}, 'For'), h('th', {}, 'Waited on'), h('th', {}, 'Resumed by')),
              ),
              h(
                'tbody',
                {},
                ...t.deferrals.map((w: ApiDeferralWindow) =>
                  h(
                    'tr',
                    {},
                    h('td', { class: 'small' }, fmtDate(w.from)),
                    h('td', { class: 'small' }, fmtDate(w.to)),
                    h('td', {}, fmtDuration((w.to ? Date.parse(w.to) : Date.now()) - Date.parse(w.from))),
                    h('td', {}, w.waited_on ?? w.trigger_kind ?? '—'),
                    h('td', {}, w.resumed_by ?? (w.to ? 'ended' : 'still waiting')),
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted small' }, 'Did not defer.'),
      );
    };
    select.value = String(task_instances[task_instances.length - 1]!.try_number);
    select.addEventListener('change', show);
    box.append(select, detail);
    show();
  }

  private switchTab(tab: 'logs' | 'tries' | 'rendered' | 'xcom'): void {
    this.tab = tab;
    for (const b of Array.from(this.el.querySelectorAll<HTMLElement>('.small-tabs .tab'))) b.classList.toggle('active', b.dataset.tab === tab);
    this.renderTab();
  }

  private renderTab(): void {
    this.stopTail();
    clear(this.body);
    if (this.tab === 'logs') this.renderLogs();
    else if (this.tab === 'tries') void this.renderTries().catch((e: Error) => this.body.append(h('p', { class: 'error' }, e.message)));
    else if (this.tab === 'rendered') this.renderRendered();
    else void this.renderXcom();
  }

  private renderLogs(): void {
    const ti = this.ti!;
    const pre = h('pre', { class: 'log', 'data-try': this.logTry });
    const select = h(
      'select',
      { class: 'try-select' },
      ...Array.from({ length: Math.max(1, ti.try_number) }, (_, i) => h('option', { value: i + 1 }, `Try ${i + 1}`)),
    );
    select.value = String(this.logTry);
    select.addEventListener('change', () => {
      this.logTry = Number(select.value);
      this.renderTab();
    });
    const status = h('span', { class: 'muted small tail-status' });
    this.body.append(h('div', { class: 'log-head' }, select, ' ', status), pre);
    if (ti.try_number === 0) {
      pre.textContent = 'Not started yet.';
      return;
    }
    const gen = this.tailGen;
    let token: string | undefined;
    const tick = async () => {
      if (gen !== this.tailGen) return;
      try {
        const page = await api<LogPage>(`${this.path()}/logs/${this.logTry}${token ? `?token=${enc(token)}` : ''}`);
        if (gen !== this.tailGen) return;
        if (page.content) {
          const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.textContent += (pre.textContent ? '\n' : '') + page.content;
          if (atBottom) pre.scrollTop = pre.scrollHeight;
        }
        token = page.continuation_token;
        if (!pre.textContent) pre.textContent = '';
        status.textContent = page.live ? 'tailing…' : '';
        if (page.live) this.tailTimer = setTimeout(tick, TAIL_MS);
        else this.tailTimer = null;
      } catch (e) {
        status.textContent = (e as Error).message;
      }
    };
    void tick();
  }

  private renderRendered(): void {
    const fields = (this.ti!.rendered_fields ?? {}) as Record<string, unknown>;
    const entries = Object.entries(fields);
    if (!entries.length) {
      this.body.append(h('p', { class: 'muted' }, 'No rendered template fields (the task has not run yet, or has none).'));
      return;
    }
    this.body.append(
      h(
        'table',
        { class: 'kv rendered' },
        entries.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, h('pre', {}, typeof v === 'string' ? v : JSON.stringify(v, null, 2))))),
      ),
    );
  }

  private async renderXcom(): Promise<void> {
    const { xcom_entries } = await api<{ xcom_entries: Array<{ key: string }> }>(`${this.path()}/xcomEntries`);
    if (!xcom_entries.length) {
      this.body.append(h('p', { class: 'muted' }, 'No XCom.'));
      return;
    }
    const values = await Promise.all(xcom_entries.map((x) => api<{ key: string; value: unknown }>(`${this.path()}/xcomEntries/${enc(x.key)}`)));
    this.body.append(
      h(
        'table',
        { class: 'kv xcom' },
        values.map((x) => h('tr', {}, h('th', {}, x.key), h('td', {}, h('pre', {}, JSON.stringify(x.value, null, 2))))),
      ),
    );
  }
}
