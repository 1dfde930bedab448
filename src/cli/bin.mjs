#!/usr/bin/env node
// The `deferflow` executable: deferflow runs TypeScript directly (no build step), so register
// tsx's ESM loader first, then hand over to the commander program.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('./main.ts');
const code = await runCli(process.argv);
process.exit(code);
