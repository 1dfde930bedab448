#!/usr/bin/env node
// `npm run bench -- NAME [ARGS…]`: runs bench/NAME.ts from the sources (tsx, with the
// `deferflow-source` condition so `import … from 'deferflow'` means src/ too) and passes ARGS on.
// Each bench prints one JSON object on stdout; see BENCHMARKS.md for what was measured.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
// Modules that benches import, not benches themselves.
const HELPERS = new Set(['baseline', 'command-profile']);
const benches = readdirSync(HERE)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .filter((n) => !HELPERS.has(n))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || !benches.includes(name)) {
  console.error(`${name ? `No bench named ${JSON.stringify(name)}. ` : ''}Usage: npm run bench -- NAME [ARGS…]; NAME is one of: ${benches.join(', ')}`);
  process.exit(2);
}
const file = join(HERE, `${name}.ts`);
if (!existsSync(file)) throw new Error(`${file} is missing`);
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const r = spawnSync(process.execPath, ['--conditions=deferflow-source', '--import', tsx, file, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
