/**
 * DAG discovery (Airflow's DagBag): import every DAG file under a folder, collect the DAG instances
 * each exports, validate them, and keep per-file import errors so one broken file never hides the
 * others. Files are imported with a `?v=<mtime>` query so a reload picks up edits (the process
 * runs under tsx, so .ts files load directly).
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { DAG } from '../dag/dag.ts';
import { DagImportError } from '../errors/dag-import-error.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import { errorMessage } from '../errors/deferflow-error.ts';
import type { Store } from '../store/store.ts';
import { DagRepository } from '../store/repositories/dag-repository.ts';
import { listDagFiles } from './dag-file-finder.ts';
import { dagToParsedFields } from './dag-serializer.ts';

export interface DagImportErrorEntry {
  file: string;
  /** Line in `file` the error points at, when known. */
  line?: number;
  message: string;
  stack: string;
}

export interface DagBagLoadOptions {
  logger?: Logger;
  /** Skip files that do not mention "dag" (default true, like Airflow's safe mode). */
  safeMode?: boolean;
}

/** `DEFERFLOW_DAGS_FOLDER`, else `<cwd>/dags`. */
export function defaultDagsFolder(): string {
  return resolve(process.env.DEFERFLOW_DAGS_FOLDER || resolve(process.cwd(), 'dags'));
}

export class DagBag {
  readonly dags = new Map<string, DAG>();
  readonly importErrors: DagImportErrorEntry[] = [];
  /** Files that were imported (with or without DAGs). */
  readonly files: string[] = [];

  private constructor(readonly folder: string | null) {}

  static async load(folder: string = defaultDagsFolder(), opts: DagBagLoadOptions = {}): Promise<DagBag> {
    const bag = new DagBag(resolve(folder));
    const files = await listDagFiles(bag.folder!, { safeMode: opts.safeMode });
    for (const file of files) await bag.loadFile(file, opts.logger);
    opts.logger?.info({ folder: bag.folder, dags: bag.dags.size, importErrors: bag.importErrors.length }, 'DAG folder loaded');
    return bag;
  }

  /** A bag of DAGs built in code (tests, embedding): validated, no files. */
  static fromDags(dags: ReadonlyArray<DAG>): DagBag {
    const bag = new DagBag(null);
    for (const dag of dags) {
      if (bag.dags.has(dag.dagId)) throw new DagImportError(`Duplicate dagId '${dag.dagId}'`, dag.definedAt);
      dag.validate();
      bag.dags.set(dag.dagId, dag);
    }
    return bag;
  }

  private async loadFile(file: string, logger?: Logger): Promise<void> {
    this.files.push(file);
    let found: DAG[];
    try {
      const { mtimeMs } = await stat(file);
      const mod = (await import(`${pathToFileURL(file).href}?v=${Math.floor(mtimeMs)}`)) as Record<string, unknown>;
      found = collectDags(mod);
      for (const dag of found) {
        dag.validate();
        const other = this.dags.get(dag.dagId);
        if (other && other !== dag) {
          throw new DagImportError(`Duplicate dagId '${dag.dagId}': already defined in ${other.fileloc ?? 'another file'}`, dag.definedAt);
        }
      }
    } catch (e) {
      const entry = importErrorOf(file, e);
      this.importErrors.push(entry);
      logger?.warn({ file, line: entry.line }, `DAG import error: ${entry.message}`);
      return;
    }
    for (const dag of found) {
      dag.fileloc = file;
      this.dags.set(dag.dagId, dag);
    }
  }

  get size(): number {
    return this.dags.size;
  }

  getDag(dagId: string): DAG | undefined {
    return this.dags.get(dagId);
  }

  requireDag(dagId: string): DAG {
    const dag = this.dags.get(dagId);
    if (!dag) {
      const broken = this.importErrors.length
        ? ` (${this.importErrors.length} file(s) failed to import: ${this.importErrors.map((e) => e.file).join(', ')})`
        : '';
      throw new NotFoundError('DAG_NOT_FOUND', `DAG '${dagId}' not found${broken}`, 'Check the DAG id with `deferflow dags list` and the DAGs folder.');
    }
    return dag;
  }

  /**
   * Write what was found: upsert `dags` (new DAGs get isPausedUponCreation, existing ones keep
   * is_paused and their timetable cursor), deactivate DAGs no longer present — except those of
   * files that failed to import this time, which keep their last good version — and replace
   * `import_errors`.
   */
  async syncToStore(store: Store): Promise<void> {
    const repo = new DagRepository(store);
    const now = new Date();
    await repo.upsertParsed([...this.dags.values()].map((d) => dagToParsedFields(d, now)));
    const keep = new Set(this.dags.keys());
    if (this.importErrors.length) {
      const broken = this.importErrors.map((e) => e.file);
      for (const d of await store.dags.find({ fileloc: { $in: broken }, is_active: true }, { projection: { _id: 1 } }).toArray()) keep.add(d._id);
    }
    await repo.deactivateMissing([...keep]);
    await repo.replaceImportErrors(
      this.importErrors.map((e) => ({ file: e.file, stack: e.stack })),
      now,
    );
  }
}

/** Every DAG a module exports (default or named; arrays of DAGs too). */
function collectDags(mod: Record<string, unknown>): DAG[] {
  const out = new Set<DAG>();
  const consider = (v: unknown): void => {
    if (v instanceof DAG) out.add(v);
    else if (Array.isArray(v)) v.forEach(consider);
  };
  for (const v of Object.values(mod)) consider(v);
  return [...out];
}

function importErrorOf(file: string, e: unknown): DagImportErrorEntry {
  const message = errorMessage(e);
  const stack = e instanceof Error && e.stack ? e.stack : message;
  let line: number | undefined;
  if (e instanceof DagImportError && e.location?.line && (!e.location.file || e.location.file === file)) line = e.location.line;
  if (line === undefined) line = lineIn(file, `${message}\n${stack}`);
  const mentionsFile = message.includes(file);
  return {
    file,
    line,
    message: mentionsFile || line === undefined ? message : `${message} (${file}:${line})`,
    stack,
  };
}

/** First `file:line` reference to this file in an error text (stack frame or esbuild message). */
function lineIn(file: string, text: string): number | undefined {
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${esc}(?:\\?[^:\\s)]*)?:(\\d+)`).exec(text);
  return m ? Number(m[1]) : undefined;
}
