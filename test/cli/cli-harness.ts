/**
 * Runs the real `deferflow` binary (`node src/cli/bin.mjs …`) as a child process against the test
 * MongoDB (FerretDB in CI) with a database of its own, a throwaway DEFERFLOW_HOME and the CLI
 * fixture DAGs. Not a test file itself.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'src/cli/bin.mjs');
export const CLI_DAGS = join(ROOT, 'test/fixtures/cli-dags');
const BASE_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

export interface CliHarness {
  /** Start a long-running command (scheduler, worker, …) in the background. */
  start(args: string[], opts?: { env?: Record<string, string | undefined> }): RunningCli;
  dbName: string;
  uri: string;
  home: string;
  run(args: string[], opts?: { env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<CliResult>;
  json<T = unknown>(args: string[], opts?: { env?: Record<string, string | undefined> }): Promise<T>;
  client: MongoClient;
  close(): Promise<void>;
}

/** The base URI with its database path replaced by `dbName` (query options kept). */
export function uriForDb(base: string, dbName: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?(\?.*)?$/.exec(base);
  if (!m) throw new Error(`cannot read MONGODB_URI ${base}`);
  return `${m[1]}/${dbName}${m[3] ?? ''}`;
}

export async function createCliHarness(name: string): Promise<CliHarness> {
  const dbName = `deferflow_test_cli_${name}_${randomBytes(4).toString('hex')}`;
  const uri = uriForDb(BASE_URI, dbName);
  const home = await mkdtemp(join(tmpdir(), `deferflow-cli-${name}-`));
  const client = new MongoClient(uri);
  await client.connect();
  const envFor = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MONGODB_URI: uri,
      DEFERFLOW_HOME: home,
      DEFERFLOW_DAGS_FOLDER: CLI_DAGS,
      DEFERFLOW_LOG_LEVEL: 'warn',
      NO_COLOR: '1',
      // Airflow's 30 s dagbag_import_timeout is for a user's machine; under a full CI run on two
      // busy cores a cold import of the seed DAGs (tsx + the AWS SDK) has been seen to need more.
      // Tests of the timeout itself set their own.
      DEFERFLOW_DAGBAG_IMPORT_TIMEOUT: '120',
      ...extra,
    };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    return env;
  };
  const started: RunningCli[] = [];
  const start = (args: string[], opts: { env?: Record<string, string | undefined> } = {}): RunningCli => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: envFor(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += String(d)));
    child.stderr!.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const handle: RunningCli = {
      child,
      output: () => out,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
    started.push(handle);
    return handle;
  };
  const run = (args: string[], opts: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<CliResult> =>
    new Promise((resolveRun) => {
      const env = envFor(opts.env);
      execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: opts.timeoutMs ?? 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  return {
    dbName,
    uri,
    home,
    client,
    run,
    start,
    async json<T>(args: string[], opts?: { env?: Record<string, string | undefined> }): Promise<T> {
      const r = await run([...args, '--output', 'json'], opts);
      if (r.code !== 0) throw new Error(`deferflow ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    async close() {
      await Promise.all(started.map((p) => p.stop()));
      await client
        .db(dbName)
        .dropDatabase()
        .catch(() => undefined);
      await client.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
