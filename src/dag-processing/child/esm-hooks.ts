/**
 * Module hooks that load DAG files as ES modules whatever the DAG project's package.json says.
 *
 * npm's default package.json has no `"type": "module"`, so Node (and tsx, which follows it) treats
 * `.ts` and `.js` files there as CommonJS: `import { DAG } from 'deferflow'` becomes a require() of
 * deferflow's ES modules and fails (ERR_UNKNOWN_FILE_EXTENSION ".ts", or a DAG hidden under
 * `default.default`). DAG files are written as ES modules, so these hooks say so: `.ts`/`.tsx`
 * files outside node_modules, and `.js` files under a DAG folder, get format "module". Files
 * with explicit extensions (`.cts`, `.cjs`, `.mts`, `.mjs`) and installed packages are left to
 * Node.
 *
 * The hooks are a data: URL, so they need no file of their own next to the compiled code, and
 * are registered after the TypeScript loader: their resolve runs first and corrects the format
 * tsx derived from package.json; tsx's load then compiles the file as ESM.
 */
import { register } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';

const HOOKS_SOURCE = `
let folders = [];
export async function initialize(data) {
  folders = (data && data.folders) || [];
}
export async function resolve(specifier, context, nextResolve) {
  const r = await nextResolve(specifier, context);
  if (!r.url.startsWith('file:') || r.url.includes('/node_modules/')) return r;
  const path = r.url.replace(/[?#].*$/, '');
  if (/\\.tsx?$/.test(path) || (/\\.js$/.test(path) && folders.some((f) => path.startsWith(f)))) {
    return { ...r, format: 'module' };
  }
  return r;
}
`;

const registered = new Set<string>();

/** Register the hooks for these DAG folders in this process (once per set of folders). */
export function registerDagModuleHooks(folders: ReadonlyArray<string>): void {
  const urls = folders.map((f) => {
    const href = pathToFileURL(resolvePath(f)).href;
    return href.endsWith('/') ? href : `${href}/`;
  });
  const key = urls.slice().sort().join('\n');
  if (registered.has(key)) return;
  registered.add(key);
  register(`data:text/javascript,${encodeURIComponent(HOOKS_SOURCE)}`, { data: { folders: urls } });
}
