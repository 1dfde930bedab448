/**
 * Where in the user's DAG file something was defined, read from the call stack, so import errors
 * (duplicate task id, cycle, unknown upstream) can name file and line without a build step.
 */
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DefinitionSite {
  file?: string;
  line?: number;
}

/**
 * deferflow's own code — this package's src/ or dist/ (wherever this file runs from, however the
 * build lays dist/ out), any installed package, Node internals — is never the definition site.
 * The seed DAGs in the package's dags/ folder and test fixtures are user code and stay visible.
 */
const INTERNAL = /[\\/]node_modules[\\/]|^node:|<anonymous>|^internal[\\/]/;
let ownCode: string[] | null = null;

function ownCodeDirs(): string[] {
  if (ownCode) return ownCode;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  ownCode = [join(dir, 'src') + sep, join(dir, 'dist') + sep];
  return ownCode;
}

export function isInternalFrameFile(file: string): boolean {
  return INTERNAL.test(file) || ownCodeDirs().some((d) => file.startsWith(d));
}

/** `file`, `line` of a stack frame line (`at fn (file:///x.ts:3:5)` or `at /x.ts:3:5`), if any. */
export function parseStackFrame(frame: string): { file: string; line: number; column: number } | null {
  const m = /\(?((?:file:\/\/)?[^()\s]+?)(?:\?[^:\s()]*)?:(\d+):(\d+)\)?\s*$/.exec(frame.trim());
  if (!m) return null;
  let file = m[1];
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      file = file.replace(/^file:\/\//, '');
    }
  }
  return { file, line: Number(m[2]), column: Number(m[3]) };
}

export function captureDefinitionSite(): DefinitionSite {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const frame of stack) {
    const f = parseStackFrame(frame);
    if (!f || isInternalFrameFile(f.file)) continue;
    return { file: f.file, line: f.line };
  }
  return {};
}

export function formatSite(site: DefinitionSite): string {
  return site.file ? `${site.file}${site.line ? `:${site.line}` : ''}` : '<unknown location>';
}
