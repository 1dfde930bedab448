/**
 * Where in the user's DAG file something was defined, read from the call stack, so import errors
 * (duplicate task id, cycle, unknown upstream) can name file and line without a build step.
 */
export interface DefinitionSite {
  file?: string;
  line?: number;
}

const INTERNAL = /[\\/](src[\\/]dag|src[\\/]providers|node_modules)[\\/]|^node:|<anonymous>/;

export function captureDefinitionSite(): DefinitionSite {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const frame of stack) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(frame.trim());
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '');
    if (INTERNAL.test(file)) continue;
    return { file, line: Number(m[2]) };
  }
  return {};
}

export function formatSite(site: DefinitionSite): string {
  return site.file ? `${site.file}${site.line ? `:${site.line}` : ''}` : '<unknown location>';
}
