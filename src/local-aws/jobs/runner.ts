/**
 * Child-process runner for job containers. Jobs run as separate processes so
 * a long training never blocks the server's event loop; stdout/stderr are
 * split into lines and handed over as they arrive (they become CloudWatch log
 * events in real time). Every process is tracked so `close()` can kill them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface RunSpec {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Open an IPC channel (serving containers talk over it). */
  ipc?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: string;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  kill(graceMs?: number): Promise<ExitInfo>;
  readonly killed: boolean;
}

/** Splits a byte stream into lines, flushing the remainder when the stream ends. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      const text = rest + chunk.toString('utf8');
      const lines = text.split(/\r?\n/);
      rest = lines.pop() ?? '';
      // A pathological line without newline should not grow forever.
      if (rest.length > 256 * 1024) {
        lines.push(rest);
        rest = '';
      }
      for (const l of lines) onLine(l);
    },
    end() {
      if (rest) onLine(rest);
      rest = '';
    },
  };
}

const require = createRequire(import.meta.url);

/** `node --import <tsx loader>` lets built-in containers be TypeScript files, like the rest of the code base. */
export function tsNodeCommand(scriptUrl: URL, ...args: string[]): string[] {
  const loader = pathToFileURL(require.resolve('tsx')).href;
  return [process.execPath, '--no-warnings', '--import', loader, fileURLToPath(scriptUrl), ...args];
}

export class ProcessRunner {
  private running = new Set<RunningProcess>();

  get size(): number {
    return this.running.size;
  }

  start(spec: RunSpec): RunningProcess {
    const [cmd, ...args] = spec.command;
    const child = spawn(cmd, args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: spec.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      // Own process group, so killing a job also kills what its command started (e.g. a shell's children).
      detached: process.platform !== 'win32',
    });
    let killedFlag = false;
    const out = lineSplitter((l) => spec.onLine?.(l, 'stdout'));
    const err = lineSplitter((l) => spec.onLine?.(l, 'stderr'));
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    const exited = new Promise<ExitInfo>((resolve) => {
      let spawnError: string | undefined;
      child.on('error', (e) => {
        spawnError = e.message;
        // 'close' does not always follow a spawn failure.
        if (child.pid === undefined) {
          out.end();
          err.end();
          resolve({ code: null, signal: null, error: spawnError });
        }
      });
      child.on('close', (code, signal) => {
        out.end();
        err.end();
        resolve({ code, signal, error: spawnError });
      });
    });
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        /* already gone */
      }
    };
    const rp: RunningProcess = {
      child,
      exited,
      get killed() {
        return killedFlag;
      },
      kill: async (graceMs = 2000) => {
        killedFlag = true;
        if (child.exitCode === null && child.signalCode === null) {
          signalGroup('SIGTERM');
          const t = setTimeout(() => signalGroup('SIGKILL'), graceMs);
          const r = await exited;
          clearTimeout(t);
          return r;
        }
        return exited;
      },
    };
    this.running.add(rp);
    void exited.then(() => this.running.delete(rp));
    return rp;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.running].map((p) => p.kill(500)));
  }
}
