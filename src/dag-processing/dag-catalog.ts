/**
 * The DAGs as the DAG processor recorded them in MongoDB, for processes that do not parse files
 * themselves (schedulers, workers' claims): active DAGs at their current version, built from
 * `dag_versions` without running any DAG file's code. It refreshes on a timer (a processor
 * elsewhere) and on demand (the processor in this process has just written).
 *
 * `loadDag` hands a worker the live DAG through a SafeDagLoader. A DAG file is found where the
 * processor saw it, or — when the DAGs folder is mounted elsewhere on this machine — under this
 * process's own DAGs folder at the same relative path.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import type { Logger } from 'pino';
import type { DAG } from '../dag/dag.ts';
import { DagImportError } from '../errors/dag-import-error.ts';
import { DagVersionRepository } from '../store/repositories/dag-version-repository.ts';
import type { Store } from '../store/store.ts';
import type { DagImportErrorEntry, DagSource } from './dag-definition.ts';
import type { SafeDagLoader } from './safe-dag-loader.ts';
import { type DagCallbackRunner, SerializedDag, type SerializedDagData } from './serialized-dag.ts';

export interface DagCatalogOptions {
  store: Store;
  logger: Logger;
  /** Refresh period once started (default 2 s). */
  refreshIntervalMs?: number;
  /** Runs serialized DAGs' callbacks (in a child process); without it they are not run. */
  callbacks?: DagCallbackRunner;
  /** Imports DAG files for `loadDag`; without it `loadDag` rejects. */
  loader?: SafeDagLoader;
  /** This machine's DAGs folder, for files the processor saw under another path. */
  folder?: string | null;
}

export class DagCatalog implements DagSource {
  readonly dags = new Map<string, SerializedDag>();
  importErrors: DagImportErrorEntry[] = [];
  private refreshing: Promise<void> | null = null;
  private again = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: DagCatalogOptions) {}

  get size(): number {
    return this.dags.size;
  }

  getDag(dagId: string): SerializedDag | undefined {
    return this.dags.get(dagId);
  }

  versionOf(dagId: string): string | undefined {
    return this.dags.get(dagId)?.version;
  }

  /** Refresh every refreshIntervalMs until stop(). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((e: unknown) => this.opts.logger.warn({ err: e }, 'could not refresh DAGs from the database'));
    }, this.opts.refreshIntervalMs ?? 2_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-read what the processor recorded. Concurrent calls share a refresh (one more runs after it if asked meanwhile). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false;
          await this.readOnce();
        } while (this.again);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async readOnce(): Promise<void> {
    const { store } = this.opts;
    const rows = await store.dags.find({ is_active: true }, { projection: { _id: 1, version: 1 } }).toArray();
    const current = rows.filter((r): r is typeof r & { version: string } => typeof r.version === 'string' && r.version.length > 0);
    const missing = current.filter((r) => this.dags.get(r._id)?.version !== r.version);
    const fetched = new Map<string, SerializedDag>();
    for (const doc of await new DagVersionRepository(store).getMany(missing.map((r) => ({ dagId: r._id, version: r.version })))) {
      try {
        const data = JSON.parse(doc.serialized) as SerializedDagData;
        fetched.set(doc.dag_id, new SerializedDag(data, { version: doc.version, callbacks: this.callbacksFor() }));
      } catch (e) {
        this.opts.logger.warn({ err: e, dag_id: doc.dag_id, version: doc.version }, 'unreadable serialized DAG; keeping the previous version');
      }
    }
    const keep = new Set(current.map((r) => r._id));
    for (const id of [...this.dags.keys()]) if (!keep.has(id)) this.dags.delete(id);
    for (const [id, dag] of fetched) this.dags.set(id, dag);
    const errors = await store.importErrors.find({}).sort({ _id: 1 }).toArray();
    this.importErrors = errors.map((e) => ({
      file: e.filename,
      ...(e.line ? { line: e.line } : {}),
      message: e.message ?? e.stacktrace.split('\n')[0],
      stack: e.stacktrace,
    }));
  }

  private callbacksFor(): DagCallbackRunner | undefined {
    const run = this.opts.callbacks;
    if (!run) return undefined;
    return (req) => {
      const dag = this.dags.get(req.dagId);
      return run({ ...req, file: dag ? this.localFile(dag.data) : req.file });
    };
  }

  /** The DAG file on this machine: where the processor saw it, else at the same place under our folder. */
  localFile(data: SerializedDagData): string {
    if (existsSync(data.fileloc) || !this.opts.folder || !data.relative_fileloc) return data.fileloc;
    const rel = normalize(data.relative_fileloc);
    if (isAbsolute(rel) || rel.startsWith('..')) return data.fileloc;
    return join(this.opts.folder, rel);
  }

  async loadDag(dagId: string): Promise<DAG> {
    let def = this.dags.get(dagId);
    if (!def) {
      await this.refresh();
      def = this.dags.get(dagId);
    }
    if (!def) {
      throw new DagImportError(
        `DAG '${dagId}' is not an active DAG in the DAG processor's records (never parsed, its file deleted, or the DAG removed from it)`,
      );
    }
    if (!this.opts.loader) throw new DagImportError(`This process cannot import DAG files (DAG '${dagId}')`);
    const file = this.localFile(def.data);
    const dag = (await this.opts.loader.load(file)).get(dagId);
    if (!dag) throw new DagImportError(`DAG '${dagId}' is no longer defined in ${file}`);
    return dag;
  }
}
