/**
 * The child process side of DAG-file imports: imports the files its parent hands it one by one,
 * validates and serializes the DAGs each exports, and reports back; or imports one file and runs
 * a DAG callback. User code runs only here, so a file that hangs, never settles, exits or throws
 * costs this process, never the scheduler, worker, webserver or CLI that asked.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DAG } from '../../dag/dag.ts';
import { DagImportError } from '../../errors/dag-import-error.ts';
import { errorMessage } from '../../errors/deferflow-error.ts';
import { collectDags } from '../collect-dags.ts';
import { serializeDag, sha256 } from '../serialized-dag.ts';
import type { ChildConfig, FileParse, FromChild, ToChild } from './child-protocol.ts';
import { registerDagModuleHooks } from './esm-hooks.ts';
import { importErrorOf } from './import-error-entry.ts';
import { ChildWatchdog } from './watchdog.ts';

const exitProcess = process.exit.bind(process);
let watchdog: ChildWatchdog | null = null;

/** Raised in place of `process.exit()` while a file is imported, so the error points at the call. */
class ExitDuringImport extends DagImportError {
  constructor(code: unknown) {
    super(`The DAG file called process.exit(${code === undefined ? '' : JSON.stringify(code)}) while being imported; a DAG file must only define DAGs`);
  }
}

async function underImportGuard(timeoutMs: number, run: () => Promise<void>): Promise<void> {
  // A file calling process.exit() would end this process with only an exit code to show; turned
  // into an exception, it becomes an import error with the file:line of the call. Restored after.
  const realExit = process.exit;
  process.exit = ((code?: unknown) => {
    throw new ExitDuringImport(code);
  }) as typeof process.exit;
  // While user code runs, the IPC channel must not keep this process alive: a top-level await
  // that can never settle then empties the event loop, and the process ends at once (exit 13)
  // instead of waiting out the import timeout.
  process.channel?.unref();
  watchdog?.arm(timeoutMs);
  try {
    await run();
  } finally {
    watchdog?.disarm();
    process.channel?.ref();
    process.exit = realExit;
  }
}

export async function parseFile(file: string, folder: string | null, timeoutMs: number): Promise<FileParse> {
  const t0 = performance.now();
  let sourceHash: string | null = null;
  try {
    sourceHash = sha256(await readFile(file));
  } catch (e) {
    return { file, sourceHash, dags: [], error: importErrorOf(file, new Error(`Cannot read the DAG file: ${errorMessage(e)}`)), importMs: 0 };
  }
  try {
    let dags: DAG[] = [];
    await underImportGuard(timeoutMs, async () => {
      dags = collectDags((await import(pathToFileURL(file).href)) as Record<string, unknown>);
    });
    const seen = new Set<string>();
    for (const dag of dags) {
      if (seen.has(dag.dagId)) throw new DagImportError(`Duplicate dagId '${dag.dagId}' in this file`, dag.definedAt);
      seen.add(dag.dagId);
      dag.validate();
    }
    const where = { fileloc: file, relativeFileloc: folder ? relative(folder, file) : null, sourceHash };
    return { file, sourceHash, dags: dags.map((d) => serializeDag(d, where)), importMs: performance.now() - t0 };
  } catch (e) {
    return { file, sourceHash, dags: [], error: importErrorOf(file, e), importMs: performance.now() - t0 };
  }
}

async function runCallback(msg: Extract<ToChild, { kind: 'callback' }>): Promise<string | undefined> {
  try {
    let dag: DAG | undefined;
    await underImportGuard(msg.timeoutMs, async () => {
      dag = collectDags((await import(pathToFileURL(msg.file).href)) as Record<string, unknown>).find((d) => d.dagId === msg.dagId);
    });
    if (!dag) return `DAG '${msg.dagId}' is no longer defined in ${msg.file}`;
    const cb = msg.which === 'success' ? dag.onSuccessCallback : dag.onFailureCallback;
    await cb?.(msg.info);
    return undefined;
  } catch (e) {
    return e instanceof Error && e.stack ? e.stack : errorMessage(e);
  }
}

/** The child's main loop: answer every message until the parent disconnects. */
export async function runChild(config: ChildConfig): Promise<void> {
  const send = (m: FromChild): void => {
    process.send?.(m);
  };
  registerDagModuleHooks(config.folders);
  watchdog = new ChildWatchdog();
  process.on('disconnect', () => exitProcess(0));
  process.on('message', (raw: ToChild) => {
    if (raw.kind === 'parse') void parseFile(raw.file, raw.folder, raw.timeoutMs).then((r) => send({ kind: 'parsed', ...r }));
    else if (raw.kind === 'callback') void runCallback(raw).then((error) => send({ kind: 'callback-done', ...(error ? { error } : {}) }));
  });
  send({ kind: 'ready' });
}
