/**
 * What the Browse and Admin lists share: a filter form that writes its values into the hash query
 * (so a filtered list is a link: `#/browse/task-instances?state=deferred`), paging, and a reload.
 */
import { clear, h, hashQuery } from '../dom.ts';

export interface FilterField {
  name: string;
  label: string;
  /** A select's options (value, label); absent: a text input. */
  options?: Array<[string, string]>;
  type?: 'text' | 'date';
  placeholder?: string;
}

export const PAGE = 50;

/** The form; submitting rewrites the hash query, which re-renders the page with the new filters. */
export function filterForm(route: string, fields: FilterField[], extra: Node[] = []): HTMLFormElement {
  const q = hashQuery();
  const inputs = fields.map((f) => {
    const el = f.options
      ? h('select', { name: f.name }, ...f.options.map(([v, l]) => h('option', { value: v }, l)))
      : h('input', { name: f.name, type: f.type ?? 'text', placeholder: f.placeholder ?? '' });
    el.value = q.get(f.name) ?? '';
    return h('label', { class: 'filter' }, f.label, el);
  });
  const form = h('form', { class: 'filters' }, ...inputs, h('button', { type: 'submit', class: 'primary' }, 'Filter'), ...extra);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const f of fields) {
      const v = (form.elements.namedItem(f.name) as HTMLInputElement | HTMLSelectElement).value.trim();
      if (v) next.set(f.name, v);
    }
    location.hash = `#/${route}${next.size ? `?${next}` : ''}`;
  });
  return form;
}

/** Previous / next buttons and "a–b of n". */
export function pager(total: number, offset: number, go: (offset: number) => void): HTMLElement {
  const box = h('div', { class: 'pager' });
  clear(box);
  const to = Math.min(total, offset + PAGE);
  box.append(
    h('button', { type: 'button', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - PAGE)) }, '‹ previous'),
    h('span', { class: 'muted small', 'data-role': 'total' }, total ? ` ${offset + 1}–${to} of ${total} ` : ' none '),
    h('button', { type: 'button', disabled: to >= total, onclick: () => go(offset + PAGE) }, 'next ›'),
  );
  return box;
}

/** A date input (yyyy-mm-dd) as the API's lower / upper bound of that day. */
export function dayStart(v: string | null): string | null {
  return v ? `${v}T00:00:00Z` : null;
}
export function dayEnd(v: string | null): string | null {
  return v ? `${v}T23:59:59.999Z` : null;
}
