/**
 * Admin → Connections: list, create, edit, delete, import. Secrets never reach the browser: the
 * password field starts empty (left empty, the stored one is kept) and extra values under
 * sensitive keys arrive masked `***` (sent back unchanged, the stored ones are kept).
 */
import type { ApiConnection } from '../../../api/schemas/resources.ts';
import { api, enc } from '../api-client.ts';
import { h } from '../dom.ts';
import type { Page } from '../main.ts';
import { renderAdminTable, type EditForm } from './admin-kit.ts';

type ConnectionItem = Omit<ApiConnection, 'extra'>;

const TYPES = ['aws', 'http', 'postgres', 'mysql', 'generic'];

export function renderConnections(root: HTMLElement): Page {
  return renderAdminTable<ConnectionItem, ApiConnection>(root, {
    collection: 'connections',
    title: 'Connections',
    noun: 'connection',
    columns: ['Connection id', 'Type', 'Host', 'Login', 'Password', 'Description'],
    idOf: (c) => c.connection_id,
    row: (c) => ({
      attrs: { 'data-conn-id': c.connection_id },
      cells: [
        h('td', {}, h('code', {}, c.connection_id)),
        h('td', {}, c.conn_type),
        h('td', {}, c.host ?? ''),
        h('td', {}, c.login ?? ''),
        h('td', {}, c.has_password ? 'set' : '—'),
        h('td', {}, c.description ?? ''),
      ],
    }),
    edit,
    importHelp: {
      label: 'JSON: {conn_id: {conn_type, …}} (Airflow’s export) or a list',
      placeholder: '{"aws-sagemaker": {"conn_type": "aws", "extra": {"region_name": "us-east-1"}}}',
    },
  });
}

function edit(existing: ApiConnection | null): EditForm {
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
  return {
    cls: 'connection-form',
    heading: existing ? `Edit ${existing.connection_id}` : 'Add a connection',
    fields: [
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
    ],
    save: async () => {
      let extraValue: Record<string, unknown> | null = null;
      if (extra.value.trim()) {
        try {
          extraValue = JSON.parse(extra.value) as Record<string, unknown>;
        } catch (err) {
          throw new Error(`Extra: not JSON (${(err as Error).message})`);
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
      if (existing) await api(`/connections/${enc(existing.connection_id)}`, { method: 'PATCH', body: fields });
      else await api('/connections', { method: 'POST', body: { connection_id: id.value.trim(), ...fields } });
    },
  };
}
