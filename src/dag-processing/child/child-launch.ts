/**
 * How to start a DAG-file child process, from wherever deferflow runs: its TypeScript source
 * under tsx (src/…/child-main.ts) or compiled JavaScript (dist/…/child-main.js). Either way the
 * child needs a TypeScript loader for the user's `.ts` DAG files, so it gets tsx's loader (both
 * ESM and CommonJS hooks) resolved from deferflow's own dependencies — not from the DAG project,
 * which may have none — and none of the parent's own Node flags (a test runner's, an inspector's).
 *
 * Run from the sources (repository, tests), the child also gets `--conditions=deferflow-source`:
 * `import … from 'deferflow'` in a DAG file then means src/ (package.json's exports map), the copy
 * this process runs, instead of dist/ — which a checkout may not have built, may hold an older
 * build of, or may be rebuilding right now (CI saw both seed DAGs fail with "Cannot find module
 * dist/src/index.js" while a test rebuilt dist/).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The package.json export condition that maps deferflow's entry points to its TypeScript sources. */
export const SOURCE_CONDITION = 'deferflow-source';

/** True when deferflow runs from its TypeScript sources, false from dist/: read off a module's own file name. */
export function runningFromSources(moduleUrl: string = import.meta.url): boolean {
  return /\.[cm]?ts$/.test(new URL(moduleUrl).pathname);
}

export interface ChildLaunch {
  entry: string;
  execArgv: string[];
}

let cached: ChildLaunch | null = null;

export function childLaunch(): ChildLaunch {
  if (cached) return cached;
  // The entry sits next to this module and was compiled (or not) the same way.
  const fromSources = runningFromSources();
  const ext = fromSources ? 'ts' : 'js';
  const entry = fileURLToPath(new URL(`./child-main.${ext}`, import.meta.url));
  if (!existsSync(entry)) {
    throw new Error(`deferflow's DAG-file child entry is missing (${entry}); the build must emit src/dag-processing/child/child-main as its own file`);
  }
  let loader: string;
  try {
    loader = createRequire(import.meta.url).resolve('tsx');
  } catch (e) {
    throw new Error(`deferflow needs its dependency 'tsx' to import DAG files (${(e as Error).message}); reinstall deferflow's dependencies`);
  }
  cached = { entry, execArgv: [...(fromSources ? [`--conditions=${SOURCE_CONDITION}`] : []), '--import', pathToFileURL(loader).href] };
  return cached;
}
