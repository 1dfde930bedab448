/**
 * A mongo-java-server of the bench's own (the build .ci/mongo-java-server.sh caches), so a
 * throughput figure can say how much CPU the server took next to ours: the shared test server
 * also serves other people's tests. Falls back to MONGODB_URI when the build is not cached.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface BenchServer {
  uri: string;
  /** The server's process id when this bench started it (its CPU can then be read). */
  pid: number | null;
  stop(): Promise<void>;
}

const MJS_DIR = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'deferflow', 'mongo-java-server-1.47.0');

/**
 * `stockPlanner`: the library's own query planner, which scans the collection for any filter that
 * is not exactly a unique index's keys (see .ci/mongo-java-server/Main.java) — for before/after rows.
 */
export async function startOwnServer(opts: { stockPlanner?: boolean } = {}): Promise<BenchServer | null> {
  const cp = join(MJS_DIR, 'classpath.txt');
  if (!existsSync(join(MJS_DIR, 'classes', 'Main.class')) || !existsSync(cp)) return null;
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    [
      '-Xmx2g',
      '-XX:+UseParallelGC',
      '-cp',
      `${join(MJS_DIR, 'classes')}:${readFileSync(cp, 'utf8').trim()}`,
      'Main',
      String(port),
      ...(opts.stockPlanner ? ['--stock-planner'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('mongo-java-server did not start within 60 s')), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('listening')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`mongo-java-server exited (${code}) during start`)));
  });
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    pid: child.pid ?? null,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); null elsewhere. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** 1-minute load average (Linux), for the figures' context. */
export function loadAverage(): number | null {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}
