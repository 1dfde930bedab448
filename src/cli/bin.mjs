#!/usr/bin/env node
// The `deferflow` executable straight from the TypeScript sources: what `npm run deferflow`, the
// CLI tests and a developer's edit-and-run loop use. The published package's executable is the
// compiled dist/src/cli/deferflow.js (from ./deferflow.ts), which needs no loader for itself.
// Hooks run last-registered first: the source condition is added, then tsx resolves and compiles.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./source-condition-hooks.mjs', import.meta.url);
const { prepareCliProcess } = await import('./cli-process.ts');
prepareCliProcess();
const { runCli } = await import('./main.ts');
const code = await runCli(process.argv);
process.exit(code);
