/** Reads of DAG import errors (files that failed to load) for the API. */
import type { Store } from '../../store/store.ts';
import type { ImportErrorDoc } from '../../store/schema.ts';
import { readPage, type Page, type PageRequest } from './page.ts';

export function listImportErrors(store: Store, page: PageRequest): Promise<Page<ImportErrorDoc>> {
  return readPage(store.importErrors, {}, page);
}

export function getImportError(store: Store, id: string): Promise<ImportErrorDoc | null> {
  return store.importErrors.findOne({ _id: id });
}
