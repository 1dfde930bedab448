/**
 * Serves the web UI. No build step: the UI is TypeScript (type-checked by the repo's `tsc` with the
 * API's own response types) and each module is turned into JavaScript on request by esbuild's
 * `transform` (types stripped, ~1 ms a file, cached by mtime). The browser loads them as native ES
 * modules; `@dagrejs/dagre` comes from node_modules through an import map. So what the browser runs
 * is exactly what is in src/ui — no bundle to rebuild or forget to commit.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { transform } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const APP_DIR = join(HERE, 'app');
const STATIC_DIR = join(HERE, 'static');
const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.js': 'text/javascript; charset=utf-8',
};

/** A path under `root`, or null when the request tries to climb out of it. */
function inside(root: string, rel: string): string | null {
  const p = normalize(join(root, rel));
  return p.startsWith(root + sep) ? p : null;
}

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  const compiled = new Map<string, { mtimeMs: number; code: string }>();
  const dagreFile = join(dirname(require.resolve('@dagrejs/dagre/package.json')), 'dist', 'dagre.esm.js');

  const sendFile = async (reply: FastifyReply, file: string | null, type?: string) => {
    if (!file) return reply.code(404).type('text/plain').send('Not found');
    try {
      const body = await readFile(file);
      const ext = file.slice(file.lastIndexOf('.'));
      return reply
        .type(type ?? TYPES[ext] ?? 'application/octet-stream')
        .header('cache-control', 'no-cache')
        .send(body);
    } catch {
      return reply.code(404).type('text/plain').send('Not found');
    }
  };

  app.get('/', { schema: { hide: true } }, (_req, reply) => sendFile(reply, join(STATIC_DIR, 'index.html')));
  app.get('/favicon.ico', { schema: { hide: true } }, (_req, reply) => sendFile(reply, join(STATIC_DIR, 'favicon.svg'), 'image/svg+xml'));
  app.get('/ui/static/*', { schema: { hide: true } }, (req, reply) => sendFile(reply, inside(STATIC_DIR, (req.params as { '*': string })['*'])));
  app.get('/ui/vendor/dagre.esm.js', { schema: { hide: true } }, (_req, reply) => sendFile(reply, dagreFile));

  app.get('/ui/app/*', { schema: { hide: true } }, async (req, reply) => {
    const file = inside(APP_DIR, (req.params as { '*': string })['*']);
    if (!file?.endsWith('.ts')) return reply.code(404).type('text/plain').send('Not found');
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(file)).mtimeMs;
    } catch {
      return reply.code(404).type('text/plain').send('Not found');
    }
    let hit = compiled.get(file);
    if (!hit || hit.mtimeMs !== mtimeMs) {
      const source = await readFile(file, 'utf8');
      const out = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022', sourcemap: 'inline', sourcefile: file.slice(HERE.length + 1) });
      hit = { mtimeMs, code: out.code };
      compiled.set(file, hit);
    }
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(hit.code);
  });
}
