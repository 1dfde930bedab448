/**
 * Variables: global key → string settings (Airflow's Variable). JSON values are stored as their
 * JSON text and read back with `getJson`.
 */
import { NotFoundError } from '../../errors/not-found-error.ts';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import type { Store } from '../store.ts';
import type { VariableDoc } from '../schema.ts';

export class VariableRepository {
  constructor(private readonly store: Store) {}

  /** The raw string, or undefined when unset. */
  async get(key: string): Promise<string | undefined> {
    const doc = await this.store.variables.findOne({ _id: key });
    return doc?.val;
  }

  /** The string; throws VARIABLE_NOT_FOUND when unset and no default is given. */
  async require(key: string, defaultValue?: string): Promise<string> {
    const v = await this.get(key);
    if (v !== undefined) return v;
    if (defaultValue !== undefined) return defaultValue;
    throw new NotFoundError('VARIABLE_NOT_FOUND', `Variable '${key}' does not exist`, 'Create it with `deferflow variables set KEY VALUE`.');
  }

  /** The value parsed as JSON; undefined when unset; INVALID_INPUT when not JSON. */
  async getJson<T = unknown>(key: string): Promise<T | undefined> {
    const v = await this.get(key);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as T;
    } catch (e) {
      throw new DeferflowError('INVALID_INPUT', `Variable '${key}' is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Set a variable; non-string values are stored as JSON. */
  async set(key: string, value: unknown, description: string | null = null): Promise<VariableDoc> {
    if (!key) throw new DeferflowError('INVALID_INPUT', 'Variable key must not be empty');
    const doc: VariableDoc = {
      _id: key,
      key,
      val: typeof value === 'string' ? value : JSON.stringify(value),
      description,
      is_encrypted: false,
      updated_at: new Date(),
    };
    await this.store.variables.replaceOne({ _id: key }, doc, { upsert: true });
    return doc;
  }

  /** Change the value and/or description of an existing variable; null when it does not exist. */
  update(key: string, fields: { value?: string; description?: string | null }): Promise<VariableDoc | null> {
    const set: Partial<VariableDoc> = { updated_at: new Date() };
    if (fields.value !== undefined) set.val = fields.value;
    if (fields.description !== undefined) set.description = fields.description;
    return this.store.variables.findOneAndUpdate({ _id: key }, { $set: set }, { returnDocument: 'after' });
  }

  async delete(key: string): Promise<boolean> {
    const r = await this.store.variables.deleteOne({ _id: key });
    return r.deletedCount === 1;
  }

  list(): Promise<VariableDoc[]> {
    return this.store.variables.find({}).sort({ _id: 1 }).toArray();
  }

  /** All variables as key → value (the worker preloads these for `var.value.*` templates). */
  async all(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const d of await this.store.variables.find({}, { projection: { val: 1 } }).toArray()) out[d._id] = d.val;
    return out;
  }
}
