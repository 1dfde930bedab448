/**
 * deferflow as its users get it: `npm pack` (which builds dist/ through `prepare`), the tarball
 * installed into a scratch project outside the repository, then
 *  (a) a plain `node` ESM script embeds the Runtime with an RxJS Subject as event source and a
 *      task deferring on an event pattern, and the run succeeds on the test MongoDB;
 *  (b) TypeScript files using Runtime, DAG, task and a SageMaker operator type-check with
 *      `tsc --noEmit` against the shipped declarations (and misuses are rejected);
 *  (c) the installed `deferflow` executable answers `--version` and lists a user's TypeScript DAG.
 * Nothing here resolves into src/: the scratch project sees only what the tarball holds. The
 * install reuses the npm cache (--prefer-offline), so it is quick after the first run.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uriForDb } from '../cli/cli-harness.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PROJECT_FILES = join(import.meta.dirname, 'consumer-project');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const BASE_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment for npm and node in the scratch project: the caller's, minus what `npm test`
 * exported about THIS package (npm_package_*, npm_config_local_prefix, …) — an npm started with
 * those would act on the repository instead of the scratch project. npm's own settings (cache,
 * registry, certificates) are kept.
 */
function scratchEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_cafile']);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())) env[k] = v;
  delete env.DEFERFLOW_DAGS_FOLDER;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Result> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? scratchEnv(), timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) + (err && typeof err.code !== 'number' ? `\n${err.message}` : '') });
    });
  });
}

const show = (r: Result): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('the packed package, installed in a scratch project', { timeout: 240_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'deferflow-consumer-'));
  const project = join(scratch, 'app');
  const home = join(scratch, 'deferflow-home');
  const dbNames: string[] = [];
  let packed: { filename: string; files: Array<{ path: string }> };

  const dbUri = (what: string): string => {
    const name = `deferflow_test_consumer_${what}_${randomBytes(4).toString('hex')}`;
    dbNames.push(name);
    return uriForDb(BASE_URI, name);
  };

  beforeAll(async () => {
    // `npm pack` runs `prepare`, i.e. the build: what is packed is what this checkout compiles to.
    const pack = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: ROOT, env: scratchEnv(), timeoutMs: 300_000 });
    if (pack.code !== 0) throw new Error(`npm pack failed\n${show(pack)}`);
    packed = (JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<typeof packed>)[0];

    cpSync(PROJECT_FILES, project, { recursive: true });
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'deferflow-consumer', private: true, type: 'module' }, null, 2)}\n`);
    const install = await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        join(scratch, packed.filename),
        `rxjs@${PKG.dependencies.rxjs}`,
        `@types/node@${PKG.devDependencies['@types/node']}`,
      ],
      { cwd: project, env: scratchEnv({ MONGOMS_DISABLE_POSTINSTALL: '1' }), timeoutMs: 400_000 },
    );
    if (install.code !== 0) throw new Error(`npm install of the tarball failed\n${show(install)}`);
  }, 720_000);

  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    if (dbNames.length === 0) return;
    const client = new MongoClient(BASE_URI);
    try {
      await client.connect();
      for (const name of dbNames) await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  });

  it('ships the compiled code, the seed DAGs and their data, README and LICENSE — nothing else', () => {
    const paths = packed.files.map((f) => f.path);
    for (const must of [
      'package.json',
      'README.md',
      'LICENSE',
      'dags/sagemaker_pipeline.ts',
      'dags/sagemaker_training_dag.ts',
      'dags/data/iris.data',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/runtime/index.js',
      'dist/src/runtime/index.d.ts',
      'dist/src/providers/aws/index.d.ts',
      'dist/src/local-aws/index.js',
      'dist/src/cli/deferflow.js',
      'dist/src/ui/static/index.html',
      'dist/src/ui/app/main.ts',
      'dist/dags/data/iris.data',
    ]) {
      expect(paths, must).toContain(must);
    }
    const unexpected = paths.filter((p) => !/^(package\.json|README\.md|LICENSE|dags\/|dist\/)/.test(p));
    expect(unexpected).toEqual([]);
    // Source maps carry their sources; nothing else of src/ travels.
    expect(paths.filter((p) => p.startsWith('dist/') && !/\.(js|d\.ts|js\.map)$/.test(p) && !/^dist\/(src\/ui\/(static|app)|dags\/data)\//.test(p))).toEqual(
      [],
    );
  });

  it('(a) plain node embeds the Runtime: a task defers on an event pattern, a Subject delivers the event, the run succeeds', async () => {
    const r = await run(process.execPath, ['embed.mjs'], {
      cwd: project,
      env: scratchEnv({ MONGODB_URI: dbUri('embed'), DEFERFLOW_LOG_LEVEL: 'warn' }),
      timeoutMs: 180_000,
    });
    expect(r.code, show(r)).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { state: string; states: string[]; shipped: string[] };
    expect(out.state).toBe('success');
    expect(out.states).toContain('wait_for_payment:deferred');
    expect(out.states).toContain('wait_for_payment:success');
    expect(out.shipped).toEqual(['A-17 (42 EUR)']);
  });

  it('(b) TypeScript using Runtime, DAG, task and a SageMaker operator type-checks against the shipped declarations', async () => {
    // The repository's compiler, run on the scratch project: every type comes from its node_modules.
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    // Node's resolution (nodenext), checking the shipped .d.ts files too, then a bundler project's.
    const listed: string[] = [];
    for (const config of ['tsconfig.json', 'tsconfig.bundler.json']) {
      const r = await run(process.execPath, [tsc, '--noEmit', '--listFiles', '-p', config], { cwd: project, timeoutMs: 180_000 });
      expect(r.code, `${config}\n${show(r)}`).toBe(0);
      listed.push(...r.stdout.split('\n'));
    }
    // What the compiler read of deferflow: declarations only, never a source file.
    const deferflowFiles = listed.filter((f) => f.includes('/node_modules/deferflow/'));
    expect(deferflowFiles.length).toBeGreaterThan(0);
    expect(deferflowFiles.filter((f) => !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('(c) `npx deferflow --version` and `npx deferflow dags list` work from the project', async () => {
    const env = scratchEnv({ MONGODB_URI: dbUri('cli'), DEFERFLOW_HOME: home });
    // Run from inside some other npm project's script, npm_package_version is that project's.
    const version = await run('npx', ['--no-install', 'deferflow', '--version'], {
      cwd: project,
      env: { ...env, npm_package_version: '7.7.7' },
      timeoutMs: 60_000,
    });
    expect(version.code, show(version)).toBe(0);
    expect(version.stdout.trim()).toBe(PKG.version);

    // The user's DAG file is TypeScript: the compiled executable still imports it (through tsx).
    const list = await run('npx', ['--no-install', 'deferflow', 'dags', 'list', '--output', 'json'], { cwd: project, env, timeoutMs: 120_000 });
    expect(list.code, show(list)).toBe(0);
    const dags = JSON.parse(list.stdout) as Array<{ dag_id: string; fileloc: string }>;
    expect(dags.map((d) => d.dag_id)).toEqual(['consumer_typed_pipeline']);
    const errors = await run('npx', ['--no-install', 'deferflow', 'dags', 'list-import-errors'], { cwd: project, env, timeoutMs: 120_000 });
    expect(errors.code, show(errors)).toBe(0);
  });
});
