/**
 * "Trigger DAG w/ config", built from the DAG's params as Airflow's trigger form is: one typed field
 * per param (number, checkbox, a select for an enum, JSON for objects and lists, text otherwise)
 * with its default and description, kept in step with the configuration JSON below it (which is
 * what is sent, so anything the fields cannot say can still be typed there); a date picker for the
 * logical date (a date alone is midnight UTC, as in the CLI) with an optional time, and a run id.
 */
import type { ApiDag, ApiDagRun } from '../../../api/serializers.ts';
import { api, enc } from '../api-client.ts';
import { h } from '../dom.ts';

interface ParamSpec {
  name: string;
  value: unknown;
  description: string | null;
  type: string | null;
  enum: unknown[] | null;
}

/** Params as DAG details give them (Airflow's serialized Param) or as plain defaults. */
export function paramSpecs(params: unknown): ParamSpec[] {
  if (!params || typeof params !== 'object') return [];
  return Object.entries(params as Record<string, unknown>).map(([name, raw]) => {
    const p =
      raw && typeof raw === 'object' && (raw as { __class?: unknown }).__class
        ? (raw as { value?: unknown; default?: unknown; description?: unknown; schema?: Record<string, unknown> })
        : null;
    const value = p ? (p.value ?? p.default ?? null) : raw;
    const schema = p?.schema ?? {};
    const type =
      typeof schema.type === 'string' ? schema.type : Array.isArray(schema.type) ? String(schema.type.find((t) => t !== 'null') ?? '') || null : null;
    return {
      name,
      value,
      description: typeof p?.description === 'string' ? p.description : null,
      type,
      enum: Array.isArray(schema.enum) ? schema.enum : null,
    };
  });
}

function kindOf(s: ParamSpec): 'enum' | 'boolean' | 'number' | 'json' | 'text' {
  if (s.enum?.length) return 'enum';
  const t = s.type ?? (s.value === null ? 'string' : Array.isArray(s.value) ? 'array' : typeof s.value);
  if (t === 'boolean') return 'boolean';
  if (t === 'number' || t === 'integer') return 'number';
  if (t === 'object' || t === 'array') return 'json';
  return 'text';
}

export function triggerForm(dag: ApiDag, onDone: (run: ApiDagRun) => void, onCancel: () => void, params: unknown = dag.params): HTMLFormElement {
  const specs = paramSpecs(params);
  const conf = h('textarea', { name: 'conf', rows: 6, class: 'conf', spellcheck: false });
  const values: Record<string, unknown> = Object.fromEntries(specs.map((s) => [s.name, s.value]));
  conf.value = JSON.stringify(values, null, 2);
  const readers: Array<() => void> = [];
  const writers: Array<(v: Record<string, unknown>) => void> = [];
  const sync = () => {
    for (const r of readers) r();
    conf.value = JSON.stringify(values, null, 2);
  };
  const fields = specs.map((s) => {
    const kind = kindOf(s);
    let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    if (kind === 'enum') {
      input = h('select', { name: `param:${s.name}` }, ...s.enum!.map((v) => h('option', { value: JSON.stringify(v) }, String(v))));
      const el = input;
      writers.push((v) => (el.value = JSON.stringify(v[s.name] ?? null)));
      readers.push(() => (values[s.name] = JSON.parse(el.value) as unknown));
    } else if (kind === 'boolean') {
      const el = h('input', { type: 'checkbox', name: `param:${s.name}` });
      input = el;
      writers.push((v) => (el.checked = Boolean(v[s.name])));
      readers.push(() => (values[s.name] = el.checked));
    } else if (kind === 'number') {
      const el = h('input', { type: 'number', step: s.type === 'integer' ? '1' : 'any', name: `param:${s.name}` });
      input = el;
      writers.push((v) => (el.value = v[s.name] == null ? '' : String(v[s.name])));
      readers.push(() => (values[s.name] = el.value === '' ? null : Number(el.value)));
    } else if (kind === 'json') {
      const el = h('textarea', { rows: 2, name: `param:${s.name}`, spellcheck: false });
      input = el;
      writers.push((v) => (el.value = JSON.stringify(v[s.name] ?? null)));
      readers.push(() => {
        try {
          values[s.name] = JSON.parse(el.value || 'null') as unknown;
        } catch {
          /* left as it was until it parses */
        }
      });
    } else {
      const el = h('input', { type: 'text', name: `param:${s.name}` });
      input = el;
      writers.push((v) => (el.value = v[s.name] == null ? '' : String(v[s.name])));
      readers.push(() => (values[s.name] = el.value));
    }
    input.addEventListener('input', sync);
    input.addEventListener('change', sync);
    return h(
      'label',
      { class: `param param-${kind}`, 'data-param': s.name },
      h('span', {}, s.name, s.type ? h('span', { class: 'muted small' }, ` (${s.type})`) : ''),
      input,
      s.description ? h('span', { class: 'muted small param-description' }, s.description) : '',
    );
  });
  for (const w of writers) w(values);
  // Typing JSON updates the fields it names (what is not a param is sent as typed).
  conf.addEventListener('input', () => {
    try {
      const v = JSON.parse(conf.value) as Record<string, unknown>;
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        for (const s of specs) if (s.name in v) values[s.name] = v[s.name];
        for (const w of writers) w(v);
      }
    } catch {
      /* not JSON yet: the submit says so */
    }
  });

  const date = h('input', { name: 'logical_date', type: 'date', title: 'Logical date (UTC); empty: now' });
  const time = h('input', { name: 'logical_time', type: 'time', step: 1, title: 'Time of day (UTC); empty: midnight' });
  const runId = h('input', { name: 'dag_run_id', type: 'text', placeholder: 'manual__<logical date>' });
  const error = h('p', { class: 'error form-error' });
  const form = h(
    'form',
    { class: 'trigger-form' },
    h('h3', {}, `Trigger ${dag.dag_id}`),
    specs.length ? h('fieldset', { class: 'params' }, h('legend', {}, 'Params'), ...fields) : h('p', { class: 'muted small' }, 'This DAG declares no params.'),
    h('label', {}, 'Configuration JSON', conf),
    h('div', { class: 'date-row' }, h('label', {}, 'Logical date (UTC)', date), h('label', {}, 'time', time)),
    h('label', {}, 'Run id', runId),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Trigger'), h('button', { type: 'button', onclick: onCancel }, 'Cancel')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(conf.value || '{}');
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('must be a JSON object');
    } catch (err) {
      error.textContent = `Configuration: ${(err as Error).message}`;
      return;
    }
    // A date alone is sent as a date (midnight UTC), as `deferflow dags trigger -e 2025-04-09` takes it.
    const logical = date.value ? (time.value ? `${date.value}T${time.value.length === 5 ? `${time.value}:00` : time.value}Z` : date.value) : '';
    try {
      const run = await api<ApiDagRun>(`/dags/${enc(dag.dag_id)}/dagRuns`, {
        method: 'POST',
        body: {
          conf: parsed,
          ...(logical ? { logical_date: logical } : {}),
          ...(runId.value.trim() ? { dag_run_id: runId.value.trim() } : {}),
        },
      });
      onDone(run);
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  });
  return form;
}
