/**
 * A fast CLI (issue 11.3) is one whose `--version` and `--help` load nothing but commander and the
 * command declarations: no MongoDB driver, AWS SDK, fastify, zod, pino, DAG loader or composition
 * root. Each command's implementation is imported when the command runs. This test spawns the real
 * executable with a resolve hook that records every module the process resolves
 * (test/fixtures/import-recorder) and checks the list — not a timing assertion (timings are
 * bench/cli-startup.ts's). A command that does run is the control: it must show the driver, so
 * the recorder cannot be silently blind.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createCliHarness, ROOT, type CliHarness } from './cli-harness.ts';

const RECORDER = join(ROOT, 'test/fixtures/import-recorder/register.mjs');
const ROOT_URL = `${pathToFileURL(ROOT).href}/`;

/** deferflow's own modules the program may load before any command runs. */
const STARTUP_MODULES =
  /^src\/(cli\/(bin\.mjs|source-condition-hooks\.mjs|main\.ts|command-kit\.ts|exit-codes\.ts|package-version\.ts|cli-process\.ts|program\/[a-z-]+\.ts|output\/(writer|output-format)\.ts)|log\/log-format\.ts|config\/defaults\.ts|errors\/error-codes\.ts)$/;
/** Packages it may load: commander, and tsx with what tsx brings (the source executable registers it). */
const STARTUP_PACKAGES = new Set(['commander', 'tsx', 'esbuild', 'get-tsconfig', 'resolve-pkg-maps']);

let h: CliHarness;
let dir: string;
beforeAll(async () => {
  h = await createCliHarness('startup');
  dir = await mkdtemp(join(tmpdir(), 'deferflow-imports-'));
});
afterAll(async () => {
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

let runs = 0;
/** Run the executable with the recorder; the modules it resolved, as repository paths or package names. */
async function modulesLoadedBy(args: string[]): Promise<{ code: number; own: string[]; packages: string[]; stdout: string }> {
  const log = join(dir, `imports-${++runs}.log`);
  const env = { ...process.env, MONGODB_URI: h.uri, DEFERFLOW_HOME: h.home, DEFERFLOW_IMPORT_LOG: log, NO_COLOR: '1' };
  const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, ['--import', RECORDER, BIN, ...args], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout) });
    });
  });
  const urls = [...new Set((await readFile(log, 'utf8')).split('\n').filter((u) => u.startsWith('file:')))];
  const own: string[] = [];
  const packages = new Set<string>();
  for (const url of urls) {
    const rel = url.startsWith(ROOT_URL) ? decodeURIComponent(url.slice(ROOT_URL.length)).replace(/\?.*$/, '') : url;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(rel)?.[1];
    if (pkg) packages.add(pkg);
    else own.push(rel);
  }
  return { code: r.code, own: own.sort(), packages: [...packages].sort(), stdout: r.stdout };
}

describe('CLI start-up', { timeout: 120_000 }, () => {
  for (const args of [['--version'], ['--help'], ['dags', '--help'], ['tasks', 'render', '--help'], ['connections', 'export', '--help']]) {
    it(`\`deferflow ${args.join(' ')}\` loads only commander and the command declarations`, async () => {
      const r = await modulesLoadedBy(args);
      expect(r.code).toBe(0);
      expect(r.own).toContain('src/cli/main.ts');
      expect(r.own.filter((m) => !STARTUP_MODULES.test(m))).toEqual([]);
      expect(r.packages.filter((p) => !STARTUP_PACKAGES.has(p))).toEqual([]);
    });
  }

  it('a command that runs loads what it needs (the recorder sees the driver)', async () => {
    const r = await modulesLoadedBy(['variables', 'list', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(r.packages).toContain('mongodb');
    expect(r.own).toContain('src/cli/commands/variables.ts');
    // …and still nothing it does not: no AWS SDK, no web server, no composition root.
    expect(r.packages.filter((p) => p.startsWith('@aws-sdk/') || p === 'fastify')).toEqual([]);
    expect(r.own.filter((m) => m.startsWith('src/composition/') || m.startsWith('src/local-aws/') || m.startsWith('src/api/'))).toEqual([]);
  });
});
