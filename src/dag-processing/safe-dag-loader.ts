/**
 * The live DAGs of one file, for processes that must run tasks (workers, `dags test`,
 * `tasks test`): a task's `execute` is a function in the DAG file, so it has to be imported here.
 *
 * Safe enough to do in a worker: a file's content (sha256) is first imported in a child process
 * with the import timeout; only content that imported cleanly there is imported in this process.
 * Each content is imported once and kept (keyed by file and hash; a stat per task says whether the
 * file changed), so a task of an unchanged DAG costs one stat. Content the DAG processor of this
 * process already parsed cleanly needs no extra child.
 *
 * What stays possible: a file that behaves differently on its second import (reads a flaky
 * service, randomness) can still misbehave here. The child run catches every deterministic hang,
 * exit and throw.
 */
import { readFile, stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { DAG } from '../dag/dag.ts';
import { DagImportError } from '../errors/dag-import-error.ts';
import { parseDagFiles } from './child/dag-file-parser.ts';
import { registerDagModuleHooks } from './child/esm-hooks.ts';
import { collectDags } from './collect-dags.ts';
import { sha256 } from './serialized-dag.ts';

export interface SafeDagLoaderOptions {
  /** Import timeout for the validating child (ms). */
  timeoutMs: number;
  /** The DAGs folder (for `.js` files loading as ESM). */
  folder?: string | null;
  logger?: Logger;
}

interface Loaded {
  mtimeMs: number;
  size: number;
  hash: string;
  dags: ReadonlyMap<string, DAG>;
}

/** What one load cost (bench/ reads it). */
export interface LoadStats {
  cached: boolean;
  validatedInChild: boolean;
  ms: number;
}

let typeScriptReady: Promise<void> | null = null;

/**
 * Running from compiled JavaScript, nothing has taught this process `.ts` yet: register tsx once.
 * From the TypeScript source, a TypeScript loader (tsx, or the test runner) is already active.
 */
function ensureTypeScriptLoader(): Promise<void> {
  typeScriptReady ??= /\.[cm]?ts$/.test(new URL(import.meta.url).pathname)
    ? Promise.resolve()
    : import('tsx/esm/api').then((tsx) => {
        tsx.register();
      });
  return typeScriptReady;
}

export class SafeDagLoader {
  private readonly byFile = new Map<string, Loaded>();
  private readonly validated = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Promise<Loaded>>();
  lastLoad: LoadStats | null = null;

  constructor(private readonly opts: SafeDagLoaderOptions) {}

  /** Content known to import cleanly in a child (the DAG processor parsed it). */
  markValidated(file: string, sourceHash: string): void {
    let s = this.validated.get(file);
    if (!s) this.validated.set(file, (s = new Set()));
    s.add(sourceHash);
  }

  /** The DAGs `file` defines as it is now; rejects with a DagImportError when it does not import. */
  async load(file: string): Promise<ReadonlyMap<string, DAG>> {
    const t0 = performance.now();
    const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
      throw new DagImportError(
        `Cannot read DAG file ${file}: ${e.code === 'ENOENT' ? 'it does not exist (deleted, or the DAGs folder is mounted elsewhere here)' : e.message}`,
      );
    });
    const known = this.byFile.get(file);
    if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) {
      this.lastLoad = { cached: true, validatedInChild: false, ms: performance.now() - t0 };
      return known.dags;
    }
    let p = this.inflight.get(file);
    if (!p) {
      p = this.importChecked(file, t0).finally(() => this.inflight.delete(file));
      this.inflight.set(file, p);
    }
    return (await p).dags;
  }

  private async importChecked(file: string, t0: number): Promise<Loaded> {
    let validatedInChild = false;
    for (let attempt = 0; ; attempt++) {
      const st = await stat(file);
      const hash = sha256(await readFile(file));
      const known = this.byFile.get(file);
      if (known?.hash === hash) {
        const same = { ...known, mtimeMs: st.mtimeMs, size: st.size };
        this.byFile.set(file, same);
        this.lastLoad = { cached: true, validatedInChild: false, ms: performance.now() - t0 };
        return same;
      }
      if (!this.validated.get(file)?.has(hash)) {
        const [r] = await parseDagFiles([file], { timeoutMs: this.opts.timeoutMs, folder: this.opts.folder ?? null, concurrency: 1 });
        validatedInChild = true;
        if (r.error) throw new DagImportError(r.error.message);
        // Edited while the child read it: check the new content instead (a few times at most).
        if (r.sourceHash !== hash) {
          if (attempt < 3) continue;
          throw new DagImportError(`DAG file ${file} keeps changing while being imported; try again once it is saved`);
        }
        this.markValidated(file, hash);
      }
      await ensureTypeScriptLoader();
      registerDagModuleHooks(this.opts.folder ? [this.opts.folder] : []);
      // A new URL per content: the module cache would otherwise hand back the previous version.
      // (Not `?v=`: Vite, which runs our tests, strips that one as its own cache buster.)
      const mod = (await import(`${pathToFileURL(file).href}?deferflow-source=${hash.slice(0, 16)}`)) as Record<string, unknown>;
      const dags = new Map<string, DAG>();
      for (const dag of collectDags(mod)) {
        dag.validate();
        dag.fileloc = file;
        dags.set(dag.dagId, dag);
      }
      const loaded: Loaded = { mtimeMs: st.mtimeMs, size: st.size, hash, dags };
      this.byFile.set(file, loaded);
      this.lastLoad = { cached: false, validatedInChild, ms: performance.now() - t0 };
      this.opts.logger?.debug({ file, hash: hash.slice(0, 16), dags: [...dags.keys()], validatedInChild }, 'DAG file imported');
      return loaded;
    }
  }
}
