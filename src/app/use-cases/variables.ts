/**
 * Variables changed by a user — `deferflow variables set / import` and the API's /variables (and
 * through it the UI's Admin → Variables page, with its import). Each change is audited (`variable.create` / `variable.update` /
 * `variable.delete` / `variable.import`) with the key, never the value: variables hold secrets.
 */
import { VariableRepository } from '../../store/repositories/variable-repository.ts';
import type { VariableDoc } from '../../store/schema.ts';
import type { AppContext } from '../app-context.ts';
import { audit } from '../audit.ts';

/**
 * Set a variable: create it, or change the value of the one that exists. Its description is kept
 * unless one is given (Airflow 2's `Variable.set` replaces the row and so drops it, which issue 12
 * asked us not to do); an empty description removes it. The value (and the description, when
 * given) change in one update of the existing row, so a description set meanwhile by someone else
 * is not lost; only a variable that does not exist yet is created. A value that is not a string is
 * stored as its JSON text (Airflow's `serialize_json`).
 */
export async function setVariable(
  app: AppContext,
  key: string,
  value: unknown,
  description?: string | null,
): Promise<{ variable: VariableDoc; created: boolean }> {
  const repo = new VariableRepository(app.store);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const newDescription = description === undefined ? undefined : description === '' ? null : description;
  const updated = await repo.update(key, { value: text, description: newDescription });
  const result = updated ? { variable: updated, created: false } : { variable: await repo.set(key, text, newDescription ?? null), created: true };
  await audit(app, [{ event: result.created ? 'variable.create' : 'variable.update', details: { key } }]);
  return result;
}

/** Change the value and/or description of an existing variable; null when there is none. */
export async function updateVariable(app: AppContext, key: string, fields: { value?: string; description?: string | null }): Promise<VariableDoc | null> {
  const doc = await new VariableRepository(app.store).update(key, fields);
  if (doc)
    await audit(app, [
      { event: 'variable.update', details: { key, fields: Object.keys(fields).filter((k) => fields[k as keyof typeof fields] !== undefined) } },
    ]);
  return doc;
}

/** False when there was no such variable. */
export async function deleteVariable(app: AppContext, key: string): Promise<boolean> {
  const deleted = await new VariableRepository(app.store).delete(key);
  if (deleted) await audit(app, [{ event: 'variable.delete', details: { key } }]);
  return deleted;
}

export interface VariableImport {
  key: string;
  value: string;
  description?: string | null;
}

/**
 * Import many (Airflow's `variables import`): existing keys are overwritten unless `skipExisting`.
 * Returns what was created, updated and skipped.
 */
export async function importVariables(
  app: AppContext,
  entries: ReadonlyArray<VariableImport>,
  opts: { skipExisting?: boolean } = {},
): Promise<{ created: string[]; updated: string[]; skipped: string[] }> {
  const repo = new VariableRepository(app.store);
  const existing = new Set((await repo.list()).map((v) => v.key));
  const out = { created: [] as string[], updated: [] as string[], skipped: [] as string[] };
  for (const e of entries) {
    if (existing.has(e.key) && opts.skipExisting) {
      out.skipped.push(e.key);
      continue;
    }
    await repo.set(e.key, e.value, e.description ?? null);
    (existing.has(e.key) ? out.updated : out.created).push(e.key);
  }
  await audit(app, [{ event: 'variable.import', details: { created: out.created, updated: out.updated, skipped: out.skipped } }]);
  return out;
}
