/**
 * A child started with typescriptChildArgs() imports a TypeScript DAG file, and its
 * `import … from 'deferflow'` resolves to the same sources this (test) process runs.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runningFromSources, typescriptChildArgs } from '../../../src/util/typescript-child-process.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('typescriptChildArgs', () => {
  it('tells sources from compiled code by the module’s own extension', () => {
    expect(runningFromSources('file:///x/src/util/typescript-child-process.ts')).toBe(true);
    expect(runningFromSources('file:///x/node_modules/deferflow/dist/src/util/typescript-child-process.js')).toBe(false);
    expect(typescriptChildArgs()).toContain('--conditions=deferflow-source');
  });

  it('gives a child that imports a seed DAG (TypeScript, importing deferflow) from src/', { timeout: 60_000 }, async () => {
    const dagFile = pathToFileURL(resolve(ROOT, 'dags/sagemaker_training_dag.ts')).href;
    const code = `const m = await import(${JSON.stringify(dagFile)}); console.log(JSON.stringify({ dagId: m.default.dagId, deferflow: import.meta.resolve('deferflow') }));`;
    const out = await new Promise<string>((done, fail) =>
      execFile(process.execPath, [...typescriptChildArgs(), '--input-type=module', '-e', code], { cwd: ROOT, timeout: 50_000 }, (err, stdout, stderr) =>
        err ? fail(new Error(`${err.message}\n${stderr}`)) : done(String(stdout)),
      ),
    );
    expect(JSON.parse(out)).toEqual({ dagId: 'sagemaker_training_dag', deferflow: pathToFileURL(resolve(ROOT, 'src/index.ts')).href });
  });
});
