/**
 * How to start a DAG-file child process, from wherever deferflow runs: its TypeScript source
 * under tsx (src/…/child-main.ts) or compiled JavaScript (dist/…/child-main.js). Either way the
 * child needs a TypeScript loader for the user's `.ts` DAG files, so it gets tsx's loader (both
 * ESM and CommonJS hooks) resolved from deferflow's own dependencies — not from the DAG project,
 * which may have none — and none of the parent's own Node flags (a test runner's, an inspector's).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ChildLaunch {
  entry: string;
  execArgv: string[];
}

let cached: ChildLaunch | null = null;

export function childLaunch(): ChildLaunch {
  if (cached) return cached;
  // The entry sits next to this module and was compiled (or not) the same way.
  const ext = /\.[cm]?ts$/.test(new URL(import.meta.url).pathname) ? 'ts' : 'js';
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
  cached = { entry, execArgv: ['--import', pathToFileURL(loader).href] };
  return cached;
}
