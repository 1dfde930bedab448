/**
 * A DAG-file child's watchdog: a worker thread, because the main thread may be stuck in a DAG
 * file's endless loop and then runs nothing of ours. It
 *
 *  - ends the process when its parent is gone (killed without closing the IPC channel);
 *  - shortly before an import would time out, pauses the main thread through the inspector and
 *    writes where it is stuck (source-mapped back to the TypeScript line) to stderr, for the
 *    parent to put in the import error — Airflow's import timeout shows that traceback too.
 *
 * It writes with fs.writeSync: a worker's process.stderr goes through the (stuck) main thread.
 */
import { Worker } from 'node:worker_threads';

/** Marks the watchdog's report in the child's stderr. */
export const HANG_MARK = '\u0000deferflow-hang:';

export interface HangFrame {
  file: string;
  line: number;
}

const WATCHDOG_SOURCE = `
const fs = require('node:fs');
const { fileURLToPath } = require('node:url');
const { SourceMap } = require('node:module');
const { Session } = require('node:inspector');
const { parentPort, workerData } = require('node:worker_threads');

setInterval(() => {
  if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL');
}, 1000);

let timer = null;
parentPort.on('message', (m) => {
  clearTimeout(timer);
  timer = m.kind === 'arm' ? setTimeout(locate, m.afterMs) : null;
});

function original(script, loc) {
  let file = script.url;
  let line = loc.lineNumber + 1;
  const map = script.sourceMapURL || '';
  if (map.startsWith('data:application/json')) {
    try {
      const payload = JSON.parse(Buffer.from(map.slice(map.indexOf(',') + 1), 'base64').toString('utf8'));
      const e = new SourceMap(payload).findEntry(loc.lineNumber, loc.columnNumber);
      if (e && e.originalSource) {
        file = e.originalSource;
        line = e.originalLine + 1;
      }
    } catch {}
  }
  if (file.startsWith('file:')) {
    try { file = fileURLToPath(file.replace(/[?#].*$/, '')); } catch {}
  }
  return { file, line };
}

function locate() {
  try {
    const s = new Session();
    s.connectToMainThread();
    const scripts = new Map();
    s.on('Debugger.scriptParsed', (e) => scripts.set(e.params.scriptId, e.params));
    s.once('Debugger.paused', (e) => {
      const frames = [];
      for (const f of e.params.callFrames.slice(0, 20)) {
        const script = scripts.get(f.location.scriptId);
        if (script && script.url) frames.push(original(script, f.location));
      }
      fs.writeSync(2, '\\n' + workerData.mark + JSON.stringify({ frames }) + '\\n');
      // Let it go on: an import that finishes before the timeout after all must still succeed.
      s.post('Debugger.resume', () => s.post('Debugger.disable', () => s.disconnect()));
    });
    s.post('Debugger.enable', () => s.post('Debugger.pause'));
  } catch {}
}
`;

export class ChildWatchdog {
  private readonly worker: Worker;

  constructor() {
    this.worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { parent: process.ppid, mark: HANG_MARK } });
    this.worker.unref();
  }

  /** An import with this timeout starts now: report where it is stuck just before the parent gives up. */
  arm(timeoutMs: number): void {
    const margin = Math.min(1_000, Math.max(50, timeoutMs * 0.2));
    this.worker.postMessage({ kind: 'arm', afterMs: Math.max(0, timeoutMs - margin) });
  }

  disarm(): void {
    this.worker.postMessage({ kind: 'disarm' });
  }
}

/** The watchdog's report in a child's output, if any: its stack, innermost frame first. */
export function hangFramesIn(output: string): HangFrame[] | null {
  const at = output.lastIndexOf(HANG_MARK);
  if (at < 0) return null;
  const end = output.indexOf('\n', at);
  try {
    const report = JSON.parse(output.slice(at + HANG_MARK.length, end < 0 ? undefined : end)) as { frames?: HangFrame[] };
    return Array.isArray(report.frames) ? report.frames : null;
  } catch {
    return null;
  }
}

/** The output without the watchdog's report lines. */
export function withoutHangReport(output: string): string {
  return output
    .split('\n')
    .filter((l) => !l.includes(HANG_MARK))
    .join('\n');
}
