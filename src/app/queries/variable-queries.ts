/** Reads of variables for the API (writes go through VariableRepository). */
import type { Store } from '../../store/store.ts';
import type { VariableDoc } from '../../store/schema.ts';
import { readPage, type Page, type PageRequest } from './page.ts';

export function listVariables(store: Store, page: PageRequest): Promise<Page<VariableDoc>> {
  return readPage(store.variables, {}, page);
}

export function getVariable(store: Store, key: string): Promise<VariableDoc | null> {
  return store.variables.findOne({ _id: key });
}
