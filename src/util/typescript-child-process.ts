/**
 * Node arguments for a child process that imports users' DAG files (TypeScript or JavaScript), so
 * it resolves modules as this process does:
 *  - `--import <tsx>`: users' `.ts` DAG files compile on import, whether deferflow itself runs
 *    compiled (dist/) or from its sources;
 *  - from the sources only, `--conditions=deferflow-source`: `import … from 'deferflow'` in a DAG
 *    file then means src/, the copy this process runs (package.json's exports map), instead of
 *    dist/ — which a checkout may not even have built.
 * Whether this process runs from the sources is read off this very module's file name.
 *
 *   spawn(process.execPath, [...typescriptChildArgs(), childScript], …)
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export const SOURCE_CONDITION = 'deferflow-source';

/** True when deferflow runs from its TypeScript sources (repository, tests), false from dist/. */
export function runningFromSources(moduleUrl: string = import.meta.url): boolean {
  return moduleUrl.endsWith('.ts');
}

export function typescriptChildArgs(): string[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return [...(runningFromSources() ? [`--conditions=${SOURCE_CONDITION}`] : []), '--import', tsx];
}
