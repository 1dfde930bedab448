/**
 * Admin → Variables: list (keys and descriptions — values are fetched one at a time, only to edit
 * them), create, edit, delete, and import (Airflow's `variables export` JSON, pasted or from a file).
 */
import type { ApiVariable } from '../../../api/serializers.ts';
import { api, enc } from '../api-client.ts';
import { clear, h, table } from '../dom.ts';
import type { Page } from '../main.ts';
import { PAGE, pager } from './list-kit.ts';

interface VariableItem {
  key: string;
  description: string | null;
}

export function renderVariables(root: HTMLElement): Page {
  const formBox = h('div', { class: 'form-box' });
  const body = h('div', { class: 'list-body' });
  root.append(
    h('h1', {}, 'Variables'),
    h(
      'div',
      { class: 'actions' },
      h('button', { class: 'primary', 'data-action': 'add-variable', onclick: () => edit(null) }, '+ Add variable'),
      h('button', { 'data-action': 'import-variables', onclick: () => importForm() }, 'Import'),
    ),
    formBox,
    body,
  );
  let offset = 0;

  function edit(existing: ApiVariable | null): void {
    clear(formBox);
    const key = h('input', { name: 'key', required: true, placeholder: 's3_bucket' });
    const value = h('textarea', { name: 'value', rows: 3 });
    const description = h('input', { name: 'description', placeholder: 'what it is for' });
    if (existing) {
      key.value = existing.key;
      key.readOnly = true;
      value.value = existing.value;
      description.value = existing.description ?? '';
    }
    const error = h('p', { class: 'error form-error' });
    const form = h(
      'form',
      { class: 'edit-form variable-form' },
      h('h3', {}, existing ? `Edit ${existing.key}` : 'Add a variable'),
      h('label', {}, 'Key', key),
      h('label', {}, 'Value', value),
      h('label', {}, 'Description', description),
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
      try {
        if (existing) {
          await api(`/variables/${enc(existing.key)}`, { method: 'PATCH', body: { value: value.value, description: description.value || null } });
        } else {
          await api('/variables', { method: 'POST', body: { key: key.value.trim(), value: value.value, description: description.value || null } });
        }
        clear(formBox);
        await load();
      } catch (err) {
        error.textContent = (err as Error).message;
      }
    });
    formBox.append(form);
    (existing ? value : key).focus();
  }

  function importForm(): void {
    clear(formBox);
    const text = h('textarea', { name: 'import', rows: 8, placeholder: '{"s3_bucket": "my-bucket", "role": "arn:aws:iam::123456789012:role/SageMaker"}' });
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
      h('h3', {}, 'Import variables'),
      h('label', {}, 'JSON: {key: value} (Airflow’s export) or [{key, value, description}]', text),
      file,
      h('label', { class: 'inline' }, skip, ' keep variables that already exist'),
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
      let variables: unknown;
      try {
        variables = JSON.parse(text.value);
      } catch (err) {
        result.classList.add('error');
        result.textContent = `Not JSON: ${(err as Error).message}`;
        return;
      }
      try {
        const r = await api<{ created: string[]; updated: string[]; skipped: string[] }>('/variables/import', {
          method: 'POST',
          body: { variables, skip_existing: skip.checked },
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
    const { variables, total_entries } = await api<{ variables: VariableItem[]; total_entries: number }>(`/variables?limit=${PAGE}&offset=${offset}`);
    clear(body);
    body.append(
      table(
        'variables',
        ['Key', 'Description', ''],
        variables.map((v) =>
          h(
            'tr',
            { 'data-key': v.key },
            h('td', {}, h('code', {}, v.key)),
            h('td', {}, v.description ?? ''),
            h(
              'td',
              { class: 'row-actions' },
              h('button', { 'data-action': 'edit', onclick: async () => edit(await api<ApiVariable>(`/variables/${enc(v.key)}`)) }, 'Edit'),
              h(
                'button',
                {
                  'data-action': 'delete',
                  onclick: async () => {
                    if (!confirm(`Delete variable ${v.key}?`)) return;
                    await api(`/variables/${enc(v.key)}`, { method: 'DELETE' });
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
