#!/usr/bin/env node
// `npm run build` (also npm's `prepare`, so `npm install`/`npm ci` in a checkout and `npm pack`
// build too): compile src/ and triggerer/ to dist/ with tsc (tsconfig.build.json), then copy the
// files the compiled code reads at run time next to it, at the same relative paths it uses from
// src/. dist/ is removed first so no output of a renamed or deleted module ever ships.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DIST = join(ROOT, 'dist');

/** Source paths (relative to the root) copied to the same path under dist/. */
const ASSETS = [
  // The webserver serves index.html, css and images from ui/static next to ui-routes.
  'src/ui/static',
  // …and the browser app as TypeScript, compiled per request by esbuild (not by tsc).
  'src/ui/app',
  // The Iris set the standalone stack uploads to the local AWS (src/standalone/demo-data.ts).
  'dags/data',
];

/** The README's screenshot lives in ui/static but the UI never serves it. */
const NOT_SHIPPED = /screenshot-[^/]*\.png$/;

const started = Date.now();
rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
} catch {
  console.error('build: tsc failed (errors above); dist/ is incomplete');
  process.exit(1);
}
for (const asset of ASSETS) {
  const from = join(ROOT, asset);
  if (!existsSync(from)) throw new Error(`build: ${asset} is missing`);
  cpSync(from, join(DIST, asset), { recursive: true, filter: (f) => !NOT_SHIPPED.test(f) });
}
console.error(`build: ${relative(process.cwd(), DIST) || 'dist'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
