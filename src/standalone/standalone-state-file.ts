/**
 * `$DEFERFLOW_HOME/standalone.json`: how other CLI invocations on this machine find a running
 * stack (its MongoDB URI; see readStandaloneState in src/cli/context.ts). Written atomically
 * (rename), removed on stop only if it still names this process, so a second stack's file is
 * never deleted by the first one exiting.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { standaloneStatePath, type StandaloneState } from '../cli/context.ts';

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
