/**
 * Set a variable — `deferflow variables set KEY VALUE [--description TEXT]`. A variable that
 * exists keeps its description unless a new one is given (Airflow 2's `Variable.set` replaces
 * the row and so drops it, which issue 12 asked us not to do); an empty description removes it.
 * `variables import` goes through here too. The value (and the
 * description, when given) change in one update of the existing row, so a description set
 * meanwhile by someone else is not lost; only a variable that does not exist yet is created.
 */
import type { VariableDoc } from '../../store/schema.ts';
import { VariableRepository } from '../../store/repositories/variable-repository.ts';
import type { AppContext } from '../app-context.ts';

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
  if (updated) return { variable: updated, created: false };
  return { variable: await repo.set(key, text, newDescription ?? null), created: true };
}
