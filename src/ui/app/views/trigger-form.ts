/** "Trigger DAG w/ config": conf JSON (prefilled from the DAG's params), optional logical date and run id. */
import type { ApiDag, ApiDagRun } from '../../../api/serializers.ts';
import { api, enc } from '../api-client.ts';
import { h } from '../dom.ts';

export function triggerForm(dag: ApiDag, onDone: (run: ApiDagRun) => void, onCancel: () => void): HTMLFormElement {
  const conf = h('textarea', { name: 'conf', rows: 8, class: 'conf', spellcheck: false });
  conf.value = JSON.stringify(dag.params && typeof dag.params === 'object' ? dag.params : {}, null, 2);
  const logical = h('input', { name: 'logical_date', type: 'text', placeholder: 'now (ISO 8601, e.g. 2025-01-01T00:00:00Z)' });
  const runId = h('input', { name: 'dag_run_id', type: 'text', placeholder: 'manual__<logical date>' });
  const error = h('p', { class: 'error form-error' });
  const form = h(
    'form',
    { class: 'trigger-form' },
    h('h3', {}, `Trigger ${dag.dag_id}`),
    h('label', {}, 'Configuration JSON', conf),
    h('label', {}, 'Logical date', logical),
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
    try {
      const run = await api<ApiDagRun>(`/dags/${enc(dag.dag_id)}/dagRuns`, {
        method: 'POST',
        body: {
          conf: parsed,
          ...(logical.value.trim() ? { logical_date: logical.value.trim() } : {}),
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
