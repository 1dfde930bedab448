#!/usr/bin/env node
/**
 * The published `deferflow` executable (compiled to dist/src/cli/deferflow.js; package.json's
 * `bin`). deferflow itself is plain JavaScript here; tsx is registered only so that users' DAG
 * files written in TypeScript import as they do from the sources. It is registered after the CLI
 * has loaded, so deferflow's own modules load without going through tsx's hooks.
 */
import { register } from 'tsx/esm/api';
import { prepareCliProcess } from './cli-process.ts';

prepareCliProcess();
const { runCli } = await import('./main.ts');
register();
process.exit(await runCli(process.argv));
