/**
 * What the Admin pages (Connections, Variables) share, so both behave alike: a heading with
 * "+ Add" and "Import", a form box above a paged table whose rows end in Edit / Delete, the edit
 * form's frame (error line, Save / Cancel, reload on save) and the import form (Airflow's export
 * JSON, pasted or from a file). Each page brings its columns and its edit form's fields.
 */
import { api, enc } from '../api-client.ts';
import { clear, h, table } from '../dom.ts';
import type { Page } from '../main.ts';
import { PAGE, pagedList } from './list-kit.ts';

/** An edit form's content; `save` sends it and throws what to show the user. */
export interface EditForm {
  cls: string;
  heading: string;
  fields: Node[];
  save(): Promise<void>;
  /** Focused once the form is shown. */
  focus?: HTMLElement;
}

export interface AdminResource<Item, Full> {
  /** The API collection (`/connections`): also the list's key in its answer and the table's class. */
  collection: string;
  title: string;
  /** One of them, for labels and actions: "+ Add connection", `add-connection`, "Delete connection x?". */
  noun: string;
  columns: string[];
  idOf(item: Item): string;
  /** The row's identifying attribute (tests and links find rows by it) and its cells. */
  row(item: Item): { attrs: Record<string, string>; cells: Node[] };
  /** The edit form for `existing` (read in full from the API), or for a new one (null). */
  edit(existing: Full | null): EditForm;
  importHelp: { label: string; placeholder: string };
}

/** The Save / Cancel (or Import / Close) row under a form; the second button closes the box. */
function formButtons(box: HTMLElement, submit: string, close: string): HTMLElement {
  return h(
    'div',
    { class: 'actions' },
    h('button', { type: 'submit', class: 'primary' }, submit),
    h('button', { type: 'button', onclick: () => clear(box) }, close),
  );
}

export function renderAdminTable<Item, Full>(root: HTMLElement, r: AdminResource<Item, Full>): Page {
  const formBox = h('div', { class: 'form-box' });
  const body = h('div', { class: 'list-body' });
  const path = (id: string) => `/${r.collection}/${enc(id)}`;
  root.append(
    h('h1', {}, r.title),
    h(
      'div',
      { class: 'actions' },
      h('button', { class: 'primary', 'data-action': `add-${r.noun}`, onclick: () => edit(null) }, `+ Add ${r.noun}`),
      h('button', { 'data-action': `import-${r.collection}`, onclick: () => importForm() }, 'Import'),
    ),
    formBox,
    body,
  );

  function edit(existing: Full | null): void {
    clear(formBox);
    const f = r.edit(existing);
    const error = h('p', { class: 'error form-error' });
    const form = h('form', { class: `edit-form ${f.cls}` }, h('h3', {}, f.heading), ...f.fields, error, formButtons(formBox, 'Save', 'Cancel'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      try {
        await f.save();
        clear(formBox);
        await reload();
      } catch (err) {
        error.textContent = (err as Error).message;
      }
    });
    formBox.append(form);
    f.focus?.focus();
  }

  function importForm(): void {
    clear(formBox);
    const text = h('textarea', { name: 'import', rows: 8, placeholder: r.importHelp.placeholder });
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
      h('h3', {}, `Import ${r.collection}`),
      h('label', {}, r.importHelp.label, text),
      file,
      h('label', { class: 'inline' }, skip, ` keep ${r.collection} that already exist`),
      result,
      formButtons(formBox, 'Import', 'Close'),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      result.classList.remove('error');
      let items: unknown;
      try {
        items = JSON.parse(text.value);
      } catch (err) {
        result.classList.add('error');
        result.textContent = `Not JSON: ${(err as Error).message}`;
        return;
      }
      try {
        const out = await api<{ created: string[]; updated: string[]; skipped: string[] }>(`/${r.collection}/import`, {
          method: 'POST',
          body: { [r.collection]: items, skip_existing: skip.checked },
        });
        result.textContent = `created ${out.created.length}, updated ${out.updated.length}, kept ${out.skipped.length}`;
        await reload();
      } catch (err) {
        result.classList.add('error');
        result.textContent = (err as Error).message;
      }
    });
    formBox.append(form);
  }

  const rowActions = (id: string): HTMLElement =>
    h(
      'td',
      { class: 'row-actions' },
      h('button', { 'data-action': 'edit', onclick: async () => edit(await api<Full>(path(id))) }, 'Edit'),
      h(
        'button',
        {
          'data-action': 'delete',
          onclick: async () => {
            if (!confirm(`Delete ${r.noun} ${id}?`)) return;
            await api(path(id), { method: 'DELETE' });
            await reload();
          },
        },
        'Delete',
      ),
    );

  const reload = pagedList(body, async (offset) => {
    const answer = await api<Record<string, unknown>>(`/${r.collection}?limit=${PAGE}&offset=${offset}`);
    const items = answer[r.collection] as Item[];
    const rows = items.map((item) => {
      const { attrs, cells } = r.row(item);
      return h('tr', attrs, ...cells, rowActions(r.idOf(item)));
    });
    return { table: table(r.collection, [...r.columns, ''], rows), total: answer.total_entries as number };
  });
  return { dispose: () => {} };
}
