/**
 * One DAG-file child process seen from its parent, as a small state machine:
 *
 *   starting ──ready──► idle ──request──► busy ──answer──► idle … ──close()──► closed
 *       └────────────── exit / timeout (SIGKILL) ──────────────► dead
 *
 * A request resolves with the child's answer, or — when the child exits or outlives the request's
 * timeout (then it is killed) — with what `onFailure` makes of that, so the caller can turn a
 * hanging or exiting DAG file into an import error for exactly the file in flight.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { childLaunch } from './child-launch.ts';
import type { ChildConfig, FromChild, ToChild } from './child-protocol.ts';
import { HANG_MARK } from './watchdog.ts';

export type ChildFailure =
  | { kind: 'timeout'; afterMs: number; output: string }
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null; output: string }
  | { kind: 'start'; message: string; output: string };

type State = 'starting' | 'idle' | 'busy' | 'closed' | 'dead';

const OUTPUT_TAIL = 4000;

/** Children that may still run: killed when this process exits, so none outlives it. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

export class DagFileChildProcess {
  private state: State = 'starting';
  private readonly child: ChildProcess;
  private output = '';
  private readonly ready: Promise<ChildFailure | null>;
  private pending: { resolve: (m: FromChild | ChildFailure) => void; timer: NodeJS.Timeout | null; timeoutMs: number } | null = null;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(config: ChildConfig, opts: { startTimeoutMs: number }) {
    const launch = childLaunch();
    this.child = fork(launch.entry, [JSON.stringify(config)], {
      execArgv: launch.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    track(this.child);
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.ready = new Promise<ChildFailure | null>((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        resolve({ kind: 'start', message: `the DAG import process did not start within ${opts.startTimeoutMs} ms`, output: this.output });
      }, opts.startTimeoutMs);
      this.child.once('message', (m: FromChild) => {
        clearTimeout(timer);
        if (m.kind === 'ready' && this.state === 'starting') {
          this.state = 'idle';
          resolve(null);
        }
      });
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ kind: 'start', message: `the DAG import process ended before it was ready (exit code ${code}, signal ${signal})`, output: this.output });
      });
      this.child.once('error', (e) => {
        clearTimeout(timer);
        resolve({ kind: 'start', message: `the DAG import process could not be started: ${e.message}`, output: this.output });
      });
    });
    this.child.on('message', (m: FromChild) => {
      if (m.kind === 'ready' || !this.pending) return;
      const p = this.pending;
      this.pending = null;
      if (p.timer) clearTimeout(p.timer);
      this.state = 'idle';
      p.resolve(m);
    });
    this.child.on('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      const wasClosing = this.state === 'closed';
      this.state = wasClosing ? 'closed' : 'dead';
      const p = this.pending;
      this.pending = null;
      if (p) {
        if (p.timer) clearTimeout(p.timer);
        p.resolve({ kind: 'exit', code, signal, output: this.output });
      }
    });
  }

  get alive(): boolean {
    return this.state === 'starting' || this.state === 'idle' || this.state === 'busy';
  }

  /** Wait until the child can take requests; a failure says why it never will. */
  whenReady(): Promise<ChildFailure | null> {
    return this.ready;
  }

  /** Send one request; resolves with the answer or the failure (the child is then dead). */
  async request(msg: ToChild, timeoutMs: number): Promise<FromChild | ChildFailure> {
    const notReady = await this.ready;
    if (notReady) return notReady;
    if (this.state !== 'idle') {
      const e = this.exitInfo;
      return { kind: 'exit', code: e?.code ?? null, signal: e?.signal ?? null, output: this.output };
    }
    this.state = 'busy';
    this.output = '';
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // The child's watchdog reports where the import is stuck just before the timeout; on a
        // loaded machine that report may lag, so give it a moment before killing the child.
        void this.untilHangReported(Math.max(2_000, timeoutMs / 2)).then(() => {
          const p = this.pending;
          if (!p) return;
          this.pending = null;
          this.kill();
          p.resolve({ kind: 'timeout', afterMs: timeoutMs, output: this.output });
        });
      }, timeoutMs);
      this.pending = { resolve, timer, timeoutMs };
      this.child.send(msg);
    });
  }

  private async untilHangReported(graceMs: number): Promise<void> {
    const until = Date.now() + graceMs;
    while (!this.output.includes(HANG_MARK) && Date.now() < until && this.alive) await new Promise((r) => setTimeout(r, 25));
  }

  /** Let an idle child end by itself (it exits when the channel closes). */
  close(): void {
    if (!this.alive) return;
    this.state = 'closed';
    if (this.child.connected) this.child.disconnect();
    // A child stuck in user code cannot see the channel close.
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    t.unref();
    this.child.once('exit', () => clearTimeout(t));
  }

  kill(): void {
    if (this.exitInfo) return;
    if (this.state !== 'closed') this.state = 'dead';
    this.child.kill('SIGKILL');
  }
}

export function isChildFailure(m: FromChild | ChildFailure): m is ChildFailure {
  return m.kind === 'timeout' || m.kind === 'exit' || m.kind === 'start';
}
