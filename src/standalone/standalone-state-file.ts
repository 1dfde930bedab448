/**
 * `$DEFERFLOW_HOME/standalone.json`: how other CLI invocations on this machine find a running
 * stack (its MongoDB URI; the CLI reads it with readStandaloneState). Written atomically
 * (rename), removed on stop only if it still names this process, so a second stack's file is
 * never deleted by the first one exiting.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Written by `deferflow standalone` so other CLI invocations on the machine find its database. */
export interface StandaloneState {
  mongoUri: string;
  pid: number;
  webserverUrl?: string;
  startedAt: string;
}

export function standaloneStatePath(home: string): string {
  return join(home, 'standalone.json');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running standalone's state, if one is alive. */
export function readStandaloneState(home: string): StandaloneState | null {
  const path = standaloneStatePath(home);
  if (!existsSync(path)) return null;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as StandaloneState;
    return typeof state.mongoUri === 'string' && typeof state.pid === 'number' && pidAlive(state.pid) ? state : null;
  } catch {
    return null;
  }
}

/** What the stack records: the CLI's fields plus where its local AWS and event queue are. */
export interface StackStateFile extends StandaloneState {
  localAwsUrl?: string;
  localAwsDataDir?: string;
  eventsQueueUrl?: string;
}

export function writeStackState(home: string, state: StackStateFile): string {
  mkdirSync(home, { recursive: true });
  const path = standaloneStatePath(home);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

export function removeStackState(home: string, pid = process.pid): void {
  const path = standaloneStatePath(home);
  try {
    const current = JSON.parse(readFileSync(path, 'utf8')) as Partial<StandaloneState>;
    if (current.pid !== pid) return;
  } catch {
    return;
  }
  rmSync(path, { force: true });
}
