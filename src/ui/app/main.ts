/**
 * UI entry: hash router (#/, #/dags/<id>/<view>[/<run>[/<task>]], #/deferrals, #/browse/{dag-runs,
 * task-instances,audit-log}, #/admin/{variables,connections}), the token form when the API says
 * 401, and the live connection shared by every page.
 */
import { clear, h } from './dom.ts';
import { setToken, setUnauthorizedHandler } from './api-client.ts';
import { connectLive, onLiveChange } from './live-events.ts';
import { deferralWindows } from './deferral-windows.ts';
import { renderDagList } from './pages/dag-list.ts';
import { renderDagPage } from './pages/dag-page.ts';
import { renderDeferrals } from './pages/deferrals.ts';
import { renderDagRuns } from './pages/dag-runs.ts';
import { renderTaskInstances } from './pages/task-instances.ts';
import { renderAuditLog } from './pages/audit-log.ts';
import { renderVariables } from './pages/variables.ts';
import { renderConnections } from './pages/connections.ts';

export interface Page {
  /** Called when the user navigates away: unsubscribe, stop timers. */
  dispose(): void;
}

const root = document.getElementById('app')!;
let current: Page | null = null;

function route(): void {
  current?.dispose();
  current = null;
  clear(root);
  const hash = location.hash.replace(/^#/, '').split('?')[0] || '/';
  const parts = hash.split('/').filter(Boolean).map(decodeURIComponent);
  const section = parts[0] === 'browse' || parts[0] === 'admin' ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? 'dags');
  for (const a of Array.from(document.querySelectorAll<HTMLAnchorElement>('nav a[data-nav]'))) {
    a.classList.toggle('active', a.dataset.nav === section || (a.dataset.nav === 'dags' && (parts[0] === 'dags' || !parts[0])));
  }
  if (parts[0] === 'dags' && parts[1]) current = renderDagPage(root, parts[1], (parts[2] as 'grid' | 'graph' | 'gantt') ?? 'grid', parts[3], parts[4]);
  else if (parts[0] === 'deferrals') current = renderDeferrals(root);
  else if (section === 'browse/dag-runs') current = renderDagRuns(root);
  else if (section === 'browse/task-instances') current = renderTaskInstances(root);
  else if (section === 'browse/audit-log') current = renderAuditLog(root);
  else if (section === 'admin/variables') current = renderVariables(root);
  else if (section === 'admin/connections') current = renderConnections(root);
  else current = renderDagList(root);
}

setUnauthorizedHandler(() => {
  if (document.getElementById('token-form')) return;
  const input = h('input', { type: 'password', placeholder: 'API token', id: 'token-input' });
  const form = h(
    'form',
    {
      id: 'token-form',
      class: 'token-form',
      onsubmit: ((e: Event) => {
        e.preventDefault();
        setToken(input.value.trim() || null);
        location.reload();
      }) as EventListener,
    },
    h('strong', {}, 'This webserver requires a token. '),
    input,
    h('button', { type: 'submit' }, 'Use token'),
  );
  document.body.prepend(form);
});

// Deferral windows are remembered whatever page is open: a task may resume while the user looks
// at the Deferrals page, and its Gantt bar still needs the window afterwards.
onLiveChange((c) => {
  if (c.kind === 'task_instance') deferralWindows.record(c.ti);
});
window.addEventListener('hashchange', route);
route();
void connectLive();
