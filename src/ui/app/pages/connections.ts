/**
 * Admin → Connections: list, create, edit, delete, import. Secrets never reach the browser: the
 * password field starts empty (left empty, the stored one is kept) and extra values under
 * sensitive keys arrive masked `***` (sent back unchanged, the stored ones are kept).
 */
import type { ApiConnection } from '../../../api/serializers.ts';
import { api, enc } from '../api-client.ts';
import { clear, h, table } from '../dom.ts';
import type { Page } from '../main.ts';
import { PAGE, pager } from './list-kit.ts';

type ConnectionItem = Omit<ApiConnection, 'extra'>;

const TYPES = ['aws', 'http', 'postgres', 'mysql', 'generic'];

export function renderConnections(root: HTMLElement): Page {
  const formBox = h('div', { class: 'form-box' });
  const body = h('div', { class: 'list-body' });
  root.append(
    h('h1', {}, 'Connections'),
    h(
      'div',
      { class: 'actions' },
      h('button', { class: 'primary', 'data-action': 'add-connection', onclick: () => edit(null) }, '+ Add connection'),
      h('button', { 'data-action': 'import-connections', onclick: () => importForm() }, 'Import'),
    ),
    formBox,
    body,
  );
  let offset = 0;

  function edit(existing: ApiConnection | null): void {
    clear(formBox);
    const field = (name: string, value: string | number | null | undefined, attrs: Record<string, string> = {}) => {
      const el = h('input', { name, ...attrs });
      el.value = value == null ? '' : String(value);
      return el;
    };
    const id = field('connection_id', existing?.connection_id, { required: 'true', placeholder: 'aws-sagemaker' });
    if (existing) id.readOnly = true;
    const type = h('input', { name: 'conn_type', list: 'conn-types', required: true });
    type.value = existing?.conn_type ?? 'aws';
    const host = field('host', existing?.host);
    const login = field('login', existing?.login, { autocomplete: 'off' });
    const password = field('password', '', {
      type: 'password',
      autocomplete: 'new-password',
      placeholder: existing?.has_password ? 'set — leave empty to keep it' : 'not set',
    });
    const schema = field('schema', existing?.schema);
    const port = field('port', existing?.port, { type: 'number', min: '0', max: '65535' });
    const description = field('description', existing?.description);
    const extra = h('textarea', { name: 'extra', rows: 5, spellcheck: false, placeholder: '{"region_name": "us-east-1", "aws_session_token": "…"}' });
    extra.value = existing?.extra ? JSON.stringify(JSON.parse(existing.extra), null, 2) : '';
    const error = h('p', { class: 'error form-error' });
    const form = h(
      'form',
      { class: 'edit-form connection-form' },
      h('h3', {}, existing ? `Edit ${existing.connection_id}` : 'Add a connection'),
      h('datalist', { id: 'conn-types' }, ...TYPES.map((t) => h('option', { value: t }))),
      h('label', {}, 'Connection id', id),
      h('label', {}, 'Type', type),
      h('label', {}, 'Description', description),
      h('label', {}, 'Host', host),
      h('label', {}, 'Login', login),
      h('label', {}, 'Password', password),
      h('label', {}, 'Schema', schema),
      h('label', {}, 'Port', port),
      h('label', {}, 'Extra (JSON; *** keeps a stored secret)', extra),
      error,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Save'),
        h('button', { type: 'button', onclick: () => clear(formBox) }, 'Cancel'),
      ),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      let extraValue: Record<string, unknown> | null = null;
      if (extra.value.trim()) {
        try {
          extraValue = JSON.parse(extra.value) as Record<string, unknown>;
        } catch (err) {
          error.textContent = `Extra: not JSON (${(err as Error).message})`;
          return;
        }
      }
      const fields: Record<string, unknown> = {
        conn_type: type.value.trim(),
        description: description.value || null,
        host: host.value || null,
        login: login.value || null,
        schema: schema.value || null,
        port: port.value ? Number(port.value) : null,
        extra: extraValue,
      };
      if (password.value) fields.password = password.value;
      try {
        if (existing) await api(`/connections/${enc(existing.connection_id)}`, { method: 'PATCH', body: fields });
        else await api('/connections', { method: 'POST', body: { connection_id: id.value.trim(), ...fields } });
        clear(formBox);
        await load();
      } catch (err) {
        error.textContent = (err as Error).message;
      }
    });
    formBox.append(form);
  }

  function importForm(): void {
    clear(formBox);
    const text = h('textarea', { name: 'import', rows: 8, placeholder: '{"aws-sagemaker": {"conn_type": "aws", "extra": {"region_name": "us-east-1"}}}' });
    const file = h('input', { type: 'file', accept: '.json,application/json' });
    file.addEventListener('change', async () => {
      const f = file.files?.[0];
      if (f) text.value = await f.text();
    });
    const skip = h('input', { type: 'checkbox', name: 'skip_existing' });
    const result = h('p', { class: 'small import-result' });
    const form = h(
      'form',
      { class: 'edit-form import-form' },
      h('h3', {}, 'Import connections'),
      h('label', {}, 'JSON: {conn_id: {conn_type, …}} (Airflow’s export) or a list', text),
      file,
      h('label', { class: 'inline' }, skip, ' keep connections that already exist'),
      result,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Import'),
        h('button', { type: 'button', onclick: () => clear(formBox) }, 'Close'),
      ),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      result.classList.remove('error');
      try {
        const connections = JSON.parse(text.value) as unknown;
        const r = await api<{ created: string[]; updated: string[]; skipped: string[] }>('/connections/import', {
          method: 'POST',
          body: { connections, skip_existing: skip.checked },
        });
        result.textContent = `created ${r.created.length}, updated ${r.updated.length}, kept ${r.skipped.length}`;
        await load();
      } catch (err) {
        result.classList.add('error');
        result.textContent = (err as Error).message;
      }
    });
    formBox.append(form);
  }

  async function load(): Promise<void> {
    const { connections, total_entries } = await api<{ connections: ConnectionItem[]; total_entries: number }>(`/connections?limit=${PAGE}&offset=${offset}`);
    clear(body);
    body.append(
      table(
        'connections',
        ['Connection id', 'Type', 'Host', 'Login', 'Password', 'Description', ''],
        connections.map((c) =>
          h(
            'tr',
            { 'data-conn-id': c.connection_id },
            h('td', {}, h('code', {}, c.connection_id)),
            h('td', {}, c.conn_type),
            h('td', {}, c.host ?? ''),
            h('td', {}, c.login ?? ''),
            h('td', {}, c.has_password ? 'set' : '—'),
            h('td', {}, c.description ?? ''),
            h(
              'td',
              { class: 'row-actions' },
              h('button', { 'data-action': 'edit', onclick: async () => edit(await api<ApiConnection>(`/connections/${enc(c.connection_id)}`)) }, 'Edit'),
              h(
                'button',
                {
                  'data-action': 'delete',
                  onclick: async () => {
                    if (!confirm(`Delete connection ${c.connection_id}?`)) return;
                    await api(`/connections/${enc(c.connection_id)}`, { method: 'DELETE' });
                    await load();
                  },
                },
                'Delete',
              ),
            ),
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
