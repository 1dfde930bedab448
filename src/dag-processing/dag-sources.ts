/**
 * The DAG source a process runs on, by deployment shape:
 *
 *  - DAGs built in code (`dags`): a DagBag of live DAGs, recorded in the store once at open.
 *  - A DAGs folder with a DAG processor here (`scheduler`, `standalone`, `Runtime` with
 *    `dagsFolder`): the processor parses the folder in child processes and records it; a catalog
 *    reads the records (refreshed the moment the processor has written); workers import a file
 *    here only once the processor or a child has imported that exact content cleanly.
 *  - A DAGs folder whose processor runs elsewhere (`worker`, `scheduler` with a standalone DAG
 *    processor): the catalog alone, refreshed from MongoDB on a timer.
 *
 * `open` does the first parse (or read), so the DAGs are there when it resolves; `close` stops
 * the processor (killing imports in flight) and the refresh timer.
 */
import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import type { DAG } from '../dag/dag.ts';
import type { Store } from '../store/store.ts';
import { childProcessCallbackRunner } from './child/callback-runner.ts';
import { DEFAULT_IMPORT_TIMEOUT_MS } from './child/dag-file-parser.ts';
import { DagBag } from './dag-bag.ts';
import { DagCatalog } from './dag-catalog.ts';
import type { DagDefinition, DagImportErrorEntry, DagSource } from './dag-definition.ts';
import { DagProcessor, type DagProcessorOptions } from './dag-processor.ts';
import { SafeDagLoader } from './safe-dag-loader.ts';

export interface OpenDagSourceOptions {
  store: Store;
  logger: Logger;
  /** DAGs built in code; wins over dagsFolder. */
  dags?: ReadonlyArray<DAG>;
  dagsFolder?: string;
  /** Run a DAG processor on dagsFolder in this process (default true). */
  processor?: boolean;
  /** Processor knobs (import timeout, intervals, parsing processes). */
  processing?: Partial<Pick<DagProcessorOptions, 'importTimeoutMs' | 'dirListIntervalMs' | 'minFileProcessIntervalMs' | 'parsingProcesses' | 'watch'>>;
  /** Catalog refresh period from MongoDB (default 2 s; the in-process processor also triggers one). */
  refreshIntervalMs?: number;
}

export interface ManagedDagSource extends DagSource {
  /** The DAG processor running in this process, if any. */
  readonly processor: DagProcessor | null;
  close(): Promise<void>;
}

/** DAGs built in code, as a ManagedDagSource (nothing to close). */
class CodeDagSource implements ManagedDagSource {
  readonly processor = null;
  constructor(private readonly bag: DagBag) {}
  get dags(): ReadonlyMap<string, DagDefinition> {
    return this.bag.dags;
  }
  get size(): number {
    return this.bag.size;
  }
  get importErrors(): ReadonlyArray<DagImportErrorEntry> {
    return this.bag.importErrors;
  }
  getDag(dagId: string): DagDefinition | undefined {
    return this.bag.getDag(dagId);
  }
  versionOf(dagId: string): string | undefined {
    return this.bag.versionOf(dagId);
  }
  loadDag(dagId: string): Promise<DAG> {
    return this.bag.loadDag(dagId);
  }
  async close(): Promise<void> {}
}

/** A DAGs folder: catalog (+ processor when it runs here) + loader. */
class FolderDagSource implements ManagedDagSource {
  private sub?: Subscription;

  constructor(
    private readonly catalog: DagCatalog,
    readonly processor: DagProcessor | null,
    loader: SafeDagLoader,
  ) {
    // Written by the processor here: refresh at once, and what it imported cleanly needs no
    // second check before a worker of this process imports it.
    this.sub = processor?.recorded$.subscribe((parsed) => {
      for (const p of parsed) if (!p.error && p.sourceHash) loader.markValidated(p.file, p.sourceHash);
      void catalog.refresh().catch(() => undefined);
    });
  }
  get dags(): ReadonlyMap<string, DagDefinition> {
    return this.catalog.dags;
  }
  get size(): number {
    return this.catalog.size;
  }
  get importErrors(): ReadonlyArray<DagImportErrorEntry> {
    return this.catalog.importErrors;
  }
  getDag(dagId: string): DagDefinition | undefined {
    return this.catalog.getDag(dagId);
  }
  versionOf(dagId: string): string | undefined {
    return this.catalog.versionOf(dagId);
  }
  loadDag(dagId: string): Promise<DAG> {
    return this.catalog.loadDag(dagId);
  }
  async close(): Promise<void> {
    this.sub?.unsubscribe();
    this.catalog.stop();
    await this.processor?.stop();
  }
}

export async function openDagSource(opts: OpenDagSourceOptions): Promise<ManagedDagSource> {
  if (opts.dags || !opts.dagsFolder) {
    const bag = DagBag.fromDags(opts.dags ?? []);
    await bag.syncToStore(opts.store);
    return new CodeDagSource(bag);
  }
  const folder = opts.dagsFolder;
  const importTimeoutMs = opts.processing?.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS;
  const loader = new SafeDagLoader({ timeoutMs: importTimeoutMs, folder, logger: opts.logger });
  const catalog = new DagCatalog({
    store: opts.store,
    logger: opts.logger,
    refreshIntervalMs: opts.refreshIntervalMs,
    callbacks: childProcessCallbackRunner({ importTimeoutMs, folder }),
    loader,
    folder,
  });
  const processor = opts.processor === false ? null : new DagProcessor({ store: opts.store, folder, logger: opts.logger, ...opts.processing });
  const source = new FolderDagSource(catalog, processor, loader);
  try {
    await processor?.start();
    await catalog.refresh();
    catalog.start();
  } catch (e) {
    await source.close();
    throw e;
  }
  return source;
}
