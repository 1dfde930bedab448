/**
 * A set of DAGs and the import errors of the files that should have defined them (Airflow's
 * DagBag), in one of two shapes:
 *
 *  - `DagBag.load(folder)`: the DAGs of a folder as a command sees them. Every file is imported in a
 *    child process (with the import timeout), so the DAGs here are serialized definitions; a task
 *    that must run gets its live DAG from `loadDag`, which imports the file here only after a child
 *    imported the same content cleanly. Loading never writes anything: only the DAG processor
 *    records DAGs and import errors.
 *  - `DagBag.fromDags([...])`: DAGs built in code (embedding, tests), live, validated.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { DAG } from '../dag/dag.ts';
import { DagImportError } from '../errors/dag-import-error.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import type { Store } from '../store/store.ts';
import { DagRepository } from '../store/repositories/dag-repository.ts';
import { DEFAULT_IMPORT_TIMEOUT_MS, parseDagFiles } from './child/dag-file-parser.ts';
import type { DagDefinition, DagImportErrorEntry, DagSource } from './dag-definition.ts';
import { listDagFiles } from './dag-file-finder.ts';
import { recordParsedDags, type VersionedDag } from './dag-store-writer.ts';
import { SafeDagLoader } from './safe-dag-loader.ts';
import { SerializedDag, dagVersionOf, serializeDag } from './serialized-dag.ts';

export type { DagImportErrorEntry } from './dag-definition.ts';

export interface DagBagLoadOptions {
  logger?: Logger;
  /** Skip files that do not mention "dag" (default true, like Airflow's safe mode). */
  safeMode?: boolean;
  /** Per-file import timeout (default 30 s, Airflow's dagbag_import_timeout). */
  importTimeoutMs?: number;
  /** Child processes importing at once (default 2). */
  concurrency?: number;
}

/** `DEFERFLOW_DAGS_FOLDER`, else `<cwd>/dags`. */
export function defaultDagsFolder(): string {
  return resolve(process.env.DEFERFLOW_DAGS_FOLDER || resolve(process.cwd(), 'dags'));
}

export class DagBag implements DagSource {
  readonly dags = new Map<string, DagDefinition>();
  readonly importErrors: DagImportErrorEntry[] = [];
  /** Files that were imported (with or without DAGs). */
  readonly files: string[] = [];
  private readonly versions = new Map<string, VersionedDag>();
  private readonly live = new Map<string, DAG>();
  private loader: SafeDagLoader | null = null;

  private constructor(readonly folder: string | null) {}

  static async load(folder: string = defaultDagsFolder(), opts: DagBagLoadOptions = {}): Promise<DagBag> {
    const bag = new DagBag(resolve(folder));
    const files = await listDagFiles(bag.folder!, { safeMode: opts.safeMode });
    const timeoutMs = opts.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS;
    const parsed = await parseDagFiles(files, { timeoutMs, folder: bag.folder, concurrency: opts.concurrency, logger: opts.logger });
    bag.loader = new SafeDagLoader({ timeoutMs, folder: bag.folder, logger: opts.logger });
    for (const r of parsed) {
      bag.files.push(r.file);
      // Same rule as the DAG processor: the first file defining a dag id keeps it.
      const dup = r.dags.find((d) => bag.dags.has(d.dag_id));
      const error =
        r.error ??
        (dup
          ? {
              file: r.file,
              message: `Duplicate dagId '${dup.dag_id}': already defined in ${bag.dags.get(dup.dag_id)?.fileloc} (${r.file})`,
              stack: `DagImportError: Duplicate dagId '${dup.dag_id}'`,
            }
          : undefined);
      if (error) {
        bag.importErrors.push(error);
        opts.logger?.warn({ file: r.file, line: error.line }, `DAG import error: ${error.message}`);
        continue;
      }
      if (r.sourceHash) bag.loader.markValidated(r.file, r.sourceHash);
      for (const data of r.dags) {
        const version = dagVersionOf(data);
        bag.versions.set(data.dag_id, { data, version });
        bag.dags.set(data.dag_id, new SerializedDag(data, { version }));
      }
    }
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
      bag.live.set(dag.dagId, dag);
      const data = serializeDag(dag, { fileloc: dag.fileloc ?? dag.definedAt.file ?? '', relativeFileloc: null, sourceHash: null });
      bag.versions.set(dag.dagId, { data, version: dagVersionOf(data) });
    }
    return bag;
  }

  get size(): number {
    return this.dags.size;
  }

  getDag(dagId: string): DagDefinition | undefined {
    return this.dags.get(dagId);
  }

  versionOf(dagId: string): string | undefined {
    return this.versions.get(dagId)?.version;
  }

  requireDag(dagId: string): DagDefinition {
    const dag = this.dags.get(dagId);
    if (!dag) {
      const broken = this.importErrors.length
        ? ` (${this.importErrors.length} file(s) failed to import: ${this.importErrors.map((e) => e.file).join(', ')})`
        : '';
      throw new NotFoundError('DAG_NOT_FOUND', `DAG '${dagId}' not found${broken}`, 'Check the DAG id with `deferflow dags list` and the DAGs folder.');
    }
    return dag;
  }

  /** The live DAG: built in code, or imported here after its content imported cleanly in a child. */
  async loadDag(dagId: string): Promise<DAG> {
    const live = this.live.get(dagId);
    if (live) return live;
    const def = this.requireDag(dagId);
    if (!this.loader || !def.fileloc) throw new DagImportError(`DAG '${dagId}' has no file to import`);
    const dag = (await this.loader.load(def.fileloc)).get(dagId);
    if (!dag) throw new DagImportError(`DAG '${dagId}' is no longer defined in ${def.fileloc}`);
    return dag;
  }

  /**
   * Record this bag as the whole truth (a processor of its own, for DAGs built in code): upsert
   * `dags` and their versions (new DAGs get isPausedUponCreation, existing ones keep is_paused and
   * their timetable cursor), deactivate DAGs no longer present — except those of files that
   * failed to import this time, which keep their last good version — and replace `import_errors`.
   */
  async syncToStore(store: Store): Promise<void> {
    const repo = new DagRepository(store);
    const now = new Date();
    await recordParsedDags(store, [...this.versions.values()], { processorSubdir: this.folder, now });
    const keep = new Set(this.dags.keys());
    if (this.importErrors.length) {
      const broken = this.importErrors.map((e) => e.file);
      for (const d of await store.dags.find({ fileloc: { $in: broken }, is_active: true }, { projection: { _id: 1 } }).toArray()) keep.add(d._id);
    }
    await repo.deactivateMissing([...keep]);
    await repo.replaceImportErrors(
      this.importErrors.map((e) => ({ file: e.file, stack: e.stack, message: e.message, line: e.line })),
      now,
    );
  }
}
