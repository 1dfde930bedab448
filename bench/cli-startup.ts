/**
 * How long the compiled `deferflow` executable (dist/src/cli/deferflow.js, what `npx deferflow`
 * runs) takes to start, against a bare `node -e ''` on the same machine at the same moment:
 *   node_ms       `node -e ''`
 *   version_ms    `deferflow --version` (commander and the command declarations only: each
 *                 command's implementation is imported when it runs)
 *   help_ms       `deferflow --help`
 *   dags_list_ms  `deferflow dags list` over the seed DAGs: each file imported in a child process
 *                 (tsx, then the file's own imports — `deferflow/aws` brings the AWS SDK), paused
 *                 flags read from the MongoDB at MONGODB_URI (a database of its own, dropped at the
 *                 end); nothing is recorded
 *   source_*_ms   the same two commands from the TypeScript sources (`node src/cli/bin.mjs`, tsx):
 *                 what every command cost before the build, and what the CLI tests still run
 * Each figure is the median of --runs runs (default 7) after one unmeasured warm-up (disk cache,
 * tsx's transform cache). Builds dist/ first (`npm run build`) unless --no-build.
 * Usage: npm run bench -- cli-startup [--runs N] [--no-build] [--no-source]. Prints ONE JSON object.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';

const ROOT = resolve(import.meta.dirname, '..');
const COMPILED_BIN = join(ROOT, 'dist/src/cli/deferflow.js');
const SOURCE_BIN = join(ROOT, 'src/cli/bin.mjs');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const RUNS = Math.max(1, arg('runs', 7));
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const baseUri = process.env.MONGODB_URI;
if (!baseUri) {
  console.error('cli-startup: set MONGODB_URI (e.g. the test server: export MONGODB_URI=$(cat /tmp/mjs.uri)); `dags list` reads paused flags there.');
  process.exit(2);
}
const dbName = `deferflow_bench_cli_${randomBytes(4).toString('hex')}`;
const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?(\?.*)?$/.exec(baseUri);
if (!m) throw new Error(`cannot read MONGODB_URI ${baseUri}`);
const uri = `${m[1]}/${dbName}${m[3] ?? ''}`;
const home = mkdtempSync(join(tmpdir(), 'deferflow-bench-cli-'));

// The commands' own environment: nothing inherited that would change what they load or print.
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  MONGODB_URI: uri,
  DEFERFLOW_HOME: home,
  DEFERFLOW_DAGS_FOLDER: join(ROOT, 'dags'),
};

function timeOnce(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${String(r.stderr)}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const round = (x: number): number => Math.round(x);

async function main(): Promise<void> {
  let buildMs: number | null = null;
  if (!flag('no-build')) {
    const t0 = performance.now();
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    buildMs = round(performance.now() - t0);
  }
  const cases: Record<string, string[]> = {
    node_ms: ['-e', ''],
    version_ms: [COMPILED_BIN, '--version'],
    help_ms: [COMPILED_BIN, '--help'],
    dags_list_ms: [COMPILED_BIN, 'dags', 'list'],
  };
  if (!flag('no-source')) {
    cases.source_version_ms = [SOURCE_BIN, '--version'];
    cases.source_dags_list_ms = [SOURCE_BIN, 'dags', 'list'];
  }
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const loadBefore = loadavg()[0];
  try {
    for (const args of Object.values(cases)) timeOnce(args);
    // Interleaved rounds, so load that comes and goes touches every figure alike.
    for (let i = 0; i < RUNS; i++) for (const [k, args] of Object.entries(cases)) samples[k].push(timeOnce(args));
  } finally {
    const client = new MongoClient(uri);
    await client
      .connect()
      .then(() => client.db(dbName).dropDatabase())
      .finally(() => client.close())
      .catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
  const medians = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, round(median(xs))]));
  console.log(
    JSON.stringify({
      ...medians,
      version_over_node: Number((medians.version_ms / medians.node_ms).toFixed(2)),
      help_over_node: Number((medians.help_ms / medians.node_ms).toFixed(2)),
      runs: RUNS,
      samples_ms: Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, xs.map(round)])),
      build_ms: buildMs,
      load_1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0].toFixed(2)) },
      machine: { cpus: cpus().length, mem_gib: Math.round(totalmem() / 2 ** 30), node: process.version },
      at: new Date().toISOString(),
    }),
  );
}

await main();
