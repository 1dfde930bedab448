#!/usr/bin/env node
/**
 * The published `deferflow` executable (compiled to dist/src/cli/deferflow.js; package.json's
 * `bin`). deferflow itself is plain JavaScript here and loads no TypeScript loader up front: users'
 * DAG files are imported in child processes started with tsx (typescriptChildArgs), and a command
 * that imports one in this process (a worker, `dags test`) registers tsx on first use
 * (SafeDagLoader). `--version` and `--help` load commander and the command declarations only.
 */
import { prepareCliProcess } from './cli-process.ts';

prepareCliProcess();
const { runCli } = await import('./main.ts');
process.exit(await runCli(process.argv));
