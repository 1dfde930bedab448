/**
 * Admin → Variables: list (keys and descriptions — values are fetched one at a time, only to edit
 * them), create, edit, delete, and import (Airflow's `variables export` JSON, pasted or from a file).
 */
import type { ApiVariable } from '../../../api/schemas/resources.ts';
import { api, enc } from '../api-client.ts';
import { h } from '../dom.ts';
import type { Page } from '../main.ts';
import { renderAdminTable, type EditForm } from './admin-kit.ts';

interface VariableItem {
  key: string;
  description: string | null;
}

export function renderVariables(root: HTMLElement): Page {
  return renderAdminTable<VariableItem, ApiVariable>(root, {
    collection: 'variables',
    title: 'Variables',
    noun: 'variable',
    columns: ['Key', 'Description'],
    idOf: (v) => v.key,
    row: (v) => ({ attrs: { 'data-key': v.key }, cells: [h('td', {}, h('code', {}, v.key)), h('td', {}, v.description ?? '')] }),
    edit,
    importHelp: {
      label: 'JSON: {key: value} (Airflow’s export) or [{key, value, description}]',
      placeholder: '{"s3_bucket": "my-bucket", "role": "arn:aws:iam::123456789012:role/SageMaker"}',
    },
  });
}

function edit(existing: ApiVariable | null): EditForm {
  const key = h('input', { name: 'key', required: true, placeholder: 's3_bucket' });
  const value = h('textarea', { name: 'value', rows: 3 });
  const description = h('input', { name: 'description', placeholder: 'what it is for' });
  if (existing) {
    key.value = existing.key;
    key.readOnly = true;
    value.value = existing.value;
    description.value = existing.description ?? '';
  }
  return {
    cls: 'variable-form',
    heading: existing ? `Edit ${existing.key}` : 'Add a variable',
    fields: [h('label', {}, 'Key', key), h('label', {}, 'Value', value), h('label', {}, 'Description', description)],
    save: async () => {
      if (existing) {
        await api(`/variables/${enc(existing.key)}`, { method: 'PATCH', body: { value: value.value, description: description.value || null } });
      } else {
        await api('/variables', { method: 'POST', body: { key: key.value.trim(), value: value.value, description: description.value || null } });
      }
    },
    focus: existing ? value : key,
  };
}
