/**
 * The DAG processor: the only writer of DAGs and import errors. It watches one DAGs folder and
 * keeps MongoDB's `dags`, `dag_versions` and `import_errors` in step with the files:
 *
 *  - new and changed files are parsed shortly after the file system reports them (debounced), and
 *    on every full rescan (`dirListIntervalMs`) in case an event was missed (network mounts);
 *  - unchanged files are re-parsed once `minFileProcessIntervalMs` has passed (DAGs built from
 *    outside data change without their file changing) — except files whose last import timed out,
 *    which wait for an edit rather than burn a child process for the whole timeout every interval;
 *  - a file is parsed in a child process with the import timeout (see child/dag-file-parser.ts);
 *    its DAGs are upserted with their new version, DAGs it no longer defines are deactivated, and
 *    its import error is recorded or cleared. A file that fails keeps its DAGs' last good version
 *    (Airflow's behaviour): runs continue, its tasks fail on import in the worker;
 *  - deleted files' DAGs are deactivated. The first scan also deactivates DAGs recorded for this
 *    folder whose files vanished while no processor ran.
 *
 * Lifecycle: stopped → starting (a folder that cannot be read fails start) → running (the first
 * full scan begins; start() waits for it up to startupWaitMs) → stopping (in-flight imports are
 * killed, nothing more is written) → stopped.
 * Scan requests never overlap: one arriving during a scan runs once right after it (a full scan
 * covers a pending changes-only one).
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import type { Logger } from 'pino';
import { Observable, Subject, type Subscription } from 'rxjs';
import { DagRepository, type ImportErrorInput } from '../store/repositories/dag-repository.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_IMPORT_TIMEOUT_MS, parseDagFiles } from './child/dag-file-parser.ts';
import type { FileParse } from './child/child-protocol.ts';
import { listDagFiles } from './dag-file-finder.ts';
import { recordParsedDags, type VersionedDag } from './dag-store-writer.ts';
import { broaderScan, type ScanKind, scanTriggers$ } from './scan-triggers.ts';
import { dagVersionOf, sha256 } from './serialized-dag.ts';
import { DEFAULTS } from '../config/defaults.ts';

export interface DagProcessorOptions {
  store: Store;
  folder: string;
  logger: Logger;
  /** Per-file import timeout (default 30 s, Airflow's dagbag_import_timeout). */
  importTimeoutMs?: number;
  /** Full rescan period (default 30 s). */
  dirListIntervalMs?: number;
  /** Re-parse unchanged files this often (default 30 s, Airflow's min_file_process_interval). */
  minFileProcessIntervalMs?: number;
  /** Child processes importing at once (default 2). */
  parsingProcesses?: number;
  /** Skip files that never mention "dag" (default true). */
  safeMode?: boolean;
  /** React to file-system events (default true); rescans run either way. */
  watch?: boolean;
  /** Quiet period after file-system events before scanning (default 250 ms). */
  debounceMs?: number;
  /** How long start() waits for the first scan before letting the process start (default min(import timeout, 10 s)). */
  startupWaitMs?: number;
}

export interface ParsedFileReport {
  file: string;
  sourceHash: string | null;
  dagIds: string[];
  error?: string;
}

export interface ScanReport {
  kind: ScanKind;
  at: Date;
  /** DAG files in the folder. */
  files: number;
  parsed: ParsedFileReport[];
  deleted: string[];
  durationMs: number;
}

type ProcessorState = 'stopped' | 'starting' | 'running' | 'stopping';

interface FileState {
  mtimeMs: number;
  size: number;
  /** Content hash of the last parse (read by this process before handing the file to a child). */
  sourceHash: string;
  parsedAt: number;
  /** DAG ids the file defined at its last good parse. */
  dagIds: string[];
  error: boolean;
  timedOut: boolean;
}

export class DagProcessor {
  readonly folder: string;
  private state: ProcessorState = 'stopped';
  private readonly files = new Map<string, FileState>();
  /** dag id → the file that defines it (the first to claim it keeps it). */
  private readonly owners = new Map<string, string>();
  private readonly reports = new Subject<ScanReport>();
  /** Every completed scan, after its writes. */
  readonly scans$: Observable<ScanReport> = this.reports.asObservable();
  private readonly batches = new Subject<ParsedFileReport[]>();
  /** Each batch of files as soon as it is recorded (a scan records several when files take long). */
  readonly recorded$: Observable<ParsedFileReport[]> = this.batches.asObservable();
  private pending: ScanKind | null = null;
  private loop: Promise<void> | null = null;
  private waiters: Array<(report: ScanReport | null) => void> = [];
  /** The scan in progress: files not recorded yet, and when each began importing. */
  private progress: { unrecorded: Set<string>; started: Map<string, number> } | null = null;
  /** The next scan is the first since start (it also forgets DAGs of files gone meanwhile). */
  private firstScan = true;
  private triggers?: Subscription;
  private abort = new AbortController();
  private readonly importTimeoutMs: number;
  private readonly dirListIntervalMs: number;
  private readonly minFileProcessIntervalMs: number;
  private readonly repo: DagRepository;
  private readonly log: Logger;

  constructor(private readonly opts: DagProcessorOptions) {
    this.folder = opts.folder.endsWith(sep) && opts.folder.length > 1 ? opts.folder.slice(0, -1) : opts.folder;
    this.importTimeoutMs = opts.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS;
    this.dirListIntervalMs = opts.dirListIntervalMs ?? DEFAULTS.dagDirListIntervalS * 1000;
    this.minFileProcessIntervalMs = opts.minFileProcessIntervalMs ?? DEFAULTS.minFileProcessIntervalS * 1000;
    this.repo = new DagRepository(opts.store);
    this.log = opts.logger.child({ component: 'dag-processor', folder: this.folder });
  }

  /** DAG ids defined by the folder's files, as of the last scan. */
  get dagIds(): string[] {
    return [...this.owners.keys()];
  }

  /** Files whose last import failed. */
  get brokenFiles(): string[] {
    return [...this.files].filter(([, s]) => s.error).map(([f]) => f);
  }

  /**
   * Start watching and parse the whole folder. Resolves with the first scan's report once it is
   * complete — or, if files are still importing after `startupWaitMs`, with null: the process
   * can start on the DAGs recorded so far while a slow or hanging file runs out its timeout
   * (its result is recorded when it comes). A folder that cannot be read fails start.
   */
  async start(): Promise<ScanReport | null> {
    if (this.state !== 'stopped') throw new Error(`DAG processor is ${this.state}`);
    this.state = 'starting';
    this.abort = new AbortController();
    this.firstScan = true;
    try {
      await listDagFiles(this.folder, { safeMode: this.opts.safeMode });
    } catch (e) {
      this.state = 'stopped';
      throw e;
    }
    this.state = 'running';
    const fileEvents$ = this.opts.watch === false ? new Subject<void>() : watchFolder$(this.folder, this.log);
    this.triggers = scanTriggers$({ fileEvents$, dirListIntervalMs: this.dirListIntervalMs, debounceMs: this.opts.debounceMs ?? 250 }).subscribe(
      (kind) => void this.request(kind),
    );
    const first = this.request('full');
    const waitMs = this.opts.startupWaitMs ?? Math.min(this.importTimeoutMs, 10_000);
    let report: ScanReport | null = null;
    let done = false;
    void first.then((r) => {
      report = r;
      done = true;
    });
    // Stop waiting only when every file not recorded yet has been importing for waitMs: files
    // merely queued behind a slow one, or a slow but ordinary import, are still waited for.
    while (!done && !this.onlySlowFilesLeft(waitMs)) await new Promise((r) => setTimeout(r, 50));
    this.log.info(
      report
        ? { dags: this.owners.size, importErrors: this.brokenFiles.length, dirListIntervalMs: this.dirListIntervalMs }
        : { dags: this.owners.size, stillImporting: true, dirListIntervalMs: this.dirListIntervalMs },
      'DAG processor running',
    );
    return report;
  }

  private onlySlowFilesLeft(waitMs: number): boolean {
    const p = this.progress;
    if (!p || p.unrecorded.size === 0) return false;
    const before = Date.now() - waitMs;
    for (const f of p.unrecorded) {
      const started = p.started.get(f);
      if (started === undefined || started > before) return false;
    }
    return true;
  }

  /** Ask for a scan; resolves with the report of a scan that began after this request (null if it failed or the processor stopped). */
  request(kind: ScanKind): Promise<ScanReport | null> {
    if (this.state !== 'running') return Promise.resolve(null);
    this.pending = broaderScan(this.pending, kind);
    const done = new Promise<ScanReport | null>((resolve) => this.waiters.push(resolve));
    this.loop ??= this.drain().finally(() => {
      this.loop = null;
    });
    return done;
  }

  private async drain(): Promise<void> {
    while (this.pending && this.state === 'running') {
      const kind = this.pending;
      const waiting = this.waiters;
      this.pending = null;
      this.waiters = [];
      let report: ScanReport | null = null;
      try {
        report = await this.scan(kind, this.firstScan);
        this.firstScan = false;
      } catch (e) {
        if (this.state === 'running') this.log.error({ err: e }, 'DAG folder scan failed; retrying at the next one');
      }
      for (const w of waiting) w(report);
    }
    for (const w of this.waiters.splice(0)) w(null);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.triggers?.unsubscribe();
    this.triggers = undefined;
    this.abort.abort();
    await this.loop?.catch(() => undefined);
    this.state = 'stopped';
    this.log.info('DAG processor stopped');
  }

  private async scan(kind: ScanKind, first: boolean): Promise<ScanReport> {
    const t0 = performance.now();
    const now = Date.now();
    const listed = await listDagFiles(this.folder, { safeMode: this.opts.safeMode });
    const listedSet = new Set(listed);
    const toParse: Array<{ file: string; mtimeMs: number; size: number; hash: string }> = [];
    for (const file of listed) {
      const st = await stat(file).catch(() => null);
      if (!st) continue;
      const known = this.files.get(file);
      const statChanged = !known || known.mtimeMs !== st.mtimeMs || known.size !== st.size;
      if (!statChanged) {
        const stale = kind === 'full' && !known.timedOut && now - known.parsedAt >= this.minFileProcessIntervalMs;
        if (stale) toParse.push({ file, mtimeMs: st.mtimeMs, size: st.size, hash: known.sourceHash });
        continue;
      }
      const hash = await readFile(file).then(sha256, () => null);
      if (hash === null) continue;
      if (known && known.sourceHash === hash) {
        // Touched, not changed.
        known.mtimeMs = st.mtimeMs;
        known.size = st.size;
        continue;
      }
      toParse.push({ file, mtimeMs: st.mtimeMs, size: st.size, hash });
    }
    const deleted = [...this.files.keys()].filter((f) => !listedSet.has(f));
    const parsed = await this.parseAndRecord(toParse, deleted, now);
    if (first) await this.forgetVanished(listedSet);
    const report: ScanReport = { kind, at: new Date(now), files: listed.length, parsed, deleted, durationMs: performance.now() - t0 };
    if (parsed.length || deleted.length) {
      this.log.info(
        { kind, parsed: parsed.length, errors: parsed.filter((p) => p.error).length, deleted: deleted.length, ms: Math.round(report.durationMs) },
        'DAG folder scanned',
      );
    }
    this.reports.next(report);
    return report;
  }

  /**
   * Parse the files and record each result as soon as it is in — written in batches of whatever
   * arrived meanwhile — so a file that hangs until the import timeout holds back no other file.
   * A result that claims a dag id still owned by a file not parsed yet in this scan waits for that
   * file (the DAG may be moving from one file to the other); at the end it is recorded anyway and
   * the claim, if still contested, is a duplicate.
   */
  private async parseAndRecord(
    toParse: ReadonlyArray<{ file: string; mtimeMs: number; size: number; hash: string }>,
    deleted: string[],
    now: number,
  ): Promise<ParsedFileReport[]> {
    const pending = new Set(toParse.map((p) => p.file));
    const progress = { unrecorded: new Set(pending), started: new Map<string, number>() };
    this.progress = progress;
    const reports: ParsedFileReport[] = [];
    let queue: FileParse[] = [];
    let held: FileParse[] = [];
    let deletions = deleted;
    let writing: Promise<void> | null = null;
    let failed: unknown = null;
    const blocked = (r: FileParse): boolean =>
      !r.error &&
      r.dags.some((d) => {
        const owner = this.owners.get(d.dag_id);
        return owner !== undefined && owner !== r.file && pending.has(owner);
      });
    const flush = async (): Promise<void> => {
      while (queue.length || deletions.length) {
        const batch = queue;
        queue = [];
        const ready = batch.filter((r) => !blocked(r));
        held.push(...batch.filter((r) => blocked(r)));
        const recorded = await this.apply(ready, toParse, deletions, now);
        deletions = [];
        for (const r of recorded) progress.unrecorded.delete(r.file);
        reports.push(...recorded);
        this.batches.next(recorded);
        for (const r of ready) pending.delete(r.file);
        const release = held.filter((r) => !blocked(r));
        held = held.filter((r) => blocked(r));
        queue.push(...release);
      }
    };
    const kick = (): void => {
      writing ??= flush()
        .catch((e: unknown) => {
          failed ??= e;
        })
        .finally(() => {
          writing = null;
          if (!failed && (queue.length || deletions.length)) kick();
        });
    };
    const signal = this.abort.signal;
    try {
      await this.parseInto(toParse, signal, progress, (r) => {
        queue.push(r);
        kick();
      });
    } finally {
      this.progress = null;
    }
    kick();
    while (writing) await writing;
    if (held.length) {
      // Whoever they waited for is done (or failed and keeps its DAGs): record them now.
      pending.clear();
      queue.push(...held);
      held = [];
      kick();
      while (writing) await writing;
    }
    if (failed) throw failed;
    return reports;
  }

  private async parseInto(
    toParse: ReadonlyArray<{ file: string }>,
    signal: AbortSignal,
    progress: { started: Map<string, number> },
    record: (r: FileParse) => void,
  ): Promise<void> {
    await parseDagFiles(
      toParse.map((p) => p.file),
      {
        timeoutMs: this.importTimeoutMs,
        folder: this.folder,
        concurrency: this.opts.parsingProcesses,
        logger: this.log,
        signal,
        onStart: (file) => progress.started.set(file, Date.now()),
        onResult: (r) => {
          if (!signal.aborted) record(r);
        },
      },
    );
    if (signal.aborted) throw new Error('DAG processor stopping');
  }

  /** Record what the children found; the in-memory state changes only once the writes succeeded. */
  private async apply(
    results: FileParse[],
    inputs: ReadonlyArray<{ file: string; mtimeMs: number; size: number; hash: string }>,
    deleted: string[],
    now: number,
  ): Promise<ParsedFileReport[]> {
    const input = new Map(inputs.map((i) => [i.file, i] as const));
    const owners = new Map(this.owners);
    const nextStates = new Map<string, FileState>();
    const good: VersionedDag[] = [];
    const goodFiles: string[] = [];
    const errors: ImportErrorInput[] = [];
    const reports: ParsedFileReport[] = [];

    // Pass 1: files that parsed (or vanished) release the ids they no longer define, so a DAG
    // moved from one file to another in the same scan is not a duplicate.
    const defines = (r: FileParse): Set<string> => new Set(r.error ? [] : r.dags.map((d) => d.dag_id));
    for (const r of results) {
      if (r.error) continue;
      const now = defines(r);
      for (const [id, file] of owners) if (file === r.file && !now.has(id)) owners.delete(id);
    }
    for (const f of deleted) for (const [id, file] of owners) if (file === f) owners.delete(id);

    // Pass 2: claim ids, record DAGs and errors.
    for (const r of results) {
      const inp = input.get(r.file);
      if (!inp) continue;
      const previous = this.files.get(r.file);
      const base = { mtimeMs: inp.mtimeMs, size: inp.size, sourceHash: inp.hash, parsedAt: now };
      const dup = r.error ? undefined : r.dags.find((d) => owners.has(d.dag_id) && owners.get(d.dag_id) !== r.file);
      const error =
        r.error ??
        (dup
          ? {
              file: r.file,
              message: `Duplicate dagId '${dup.dag_id}': already defined in ${owners.get(dup.dag_id)} (${r.file})`,
              stack: `DagImportError: Duplicate dagId '${dup.dag_id}': already defined in ${owners.get(dup.dag_id)}`,
            }
          : undefined);
      if (error) {
        errors.push({ file: r.file, stack: error.stack, message: error.message, line: error.line });
        nextStates.set(r.file, { ...base, dagIds: previous?.dagIds ?? [], error: true, timedOut: r.failure === 'timeout' });
        reports.push({ file: r.file, sourceHash: r.sourceHash, dagIds: [], error: error.message });
        continue;
      }
      const ids = r.dags.map((d) => d.dag_id);
      for (const id of ids) owners.set(id, r.file);
      for (const data of r.dags) good.push({ data, version: dagVersionOf(data) });
      goodFiles.push(r.file);
      nextStates.set(r.file, { ...base, dagIds: ids, error: false, timedOut: false });
      reports.push({ file: r.file, sourceHash: r.sourceHash, dagIds: ids });
    }

    const nowDate = new Date(now);
    await recordParsedDags(this.opts.store, good, { processorSubdir: this.folder, now: nowDate });
    for (const file of goodFiles) await this.repo.deactivateFileDags(file, nextStates.get(file)?.dagIds ?? []);
    for (const file of deleted) await this.repo.deactivateFileDags(file, []);
    await this.repo.upsertImportErrors(errors, nowDate);
    await this.repo.deleteImportErrors([...goodFiles, ...deleted]);

    for (const [file, s] of nextStates) this.files.set(file, s);
    for (const f of deleted) this.files.delete(f);
    this.owners.clear();
    for (const [id, file] of owners) this.owners.set(id, file);
    return reports;
  }

  /** DAGs and import errors recorded for this folder whose files are gone (removed while no processor ran). */
  private async forgetVanished(listed: ReadonlySet<string>): Promise<void> {
    const mine = (file: string): boolean => file.startsWith(this.folder + sep);
    const stale = (await this.repo.listActiveFilelocs()).filter((d) => (d.processor_subdir === this.folder || mine(d.fileloc)) && !listed.has(d.fileloc));
    if (stale.length) {
      await this.repo.deactivate(stale.map((d) => d._id));
      this.log.info({ dags: stale.map((d) => d._id) }, 'deactivated DAGs whose files are gone');
    }
    const errors = await this.repo.listImportErrors();
    await this.repo.deleteImportErrors(errors.filter((e) => mine(e.filename) && !listed.has(e.filename)).map((e) => e.filename));
  }
}

/** File-system events under `folder` (recursive). Errors end the watch, not the processor: rescans go on. */
function watchFolder$(folder: string, log: Logger): Observable<void> {
  return new Observable<void>((sub) => {
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, { recursive: true, persistent: false }, () => sub.next());
    } catch (e) {
      log.warn({ err: e }, 'cannot watch the DAGs folder; relying on periodic rescans');
      return undefined;
    }
    watcher.on('error', (e) => {
      log.warn({ err: e }, 'watching the DAGs folder failed; relying on periodic rescans');
      watcher.close();
    });
    return () => watcher.close();
  });
}
