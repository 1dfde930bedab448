/**
 * A DAG-file child started as childLaunch() says imports a TypeScript DAG file, and — deferflow
 * running from its sources here — its `import … from 'deferflow'` resolves to those sources, not to
 * dist/ (which a checkout may lack, hold an older build of, or be rebuilding).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childLaunch, runningFromSources } from '../../../src/dag-processing/child/child-launch.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('childLaunch', () => {
  it('tells sources from compiled code by the module’s own extension', () => {
    expect(runningFromSources('file:///x/src/dag-processing/child/child-launch.ts')).toBe(true);
    expect(runningFromSources('file:///x/node_modules/deferflow/dist/src/dag-processing/child/child-launch.js')).toBe(false);
    expect(childLaunch().execArgv).toContain('--conditions=deferflow-source');
    expect(childLaunch().entry).toBe(resolve(ROOT, 'src/dag-processing/child/child-main.ts'));
  });

  it('gives a child that imports a seed DAG (TypeScript, importing deferflow) from src/', { timeout: 60_000 }, async () => {
    const dagFile = pathToFileURL(resolve(ROOT, 'dags/sagemaker_training_dag.ts')).href;
    const code = `const m = await import(${JSON.stringify(dagFile)}); console.log(JSON.stringify({ dagId: m.default.dagId, deferflow: import.meta.resolve('deferflow') }));`;
    const out = await new Promise<string>((done, fail) =>
      execFile(process.execPath, [...childLaunch().execArgv, '--input-type=module', '-e', code], { cwd: ROOT, timeout: 50_000 }, (err, stdout, stderr) =>
        err ? fail(new Error(`${err.message}\n${stderr}`)) : done(String(stdout)),
      ),
    );
    expect(JSON.parse(out)).toEqual({ dagId: 'sagemaker_training_dag', deferflow: pathToFileURL(resolve(ROOT, 'src/index.ts')).href });
  });
});
