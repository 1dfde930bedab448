/**
 * When the DAG processor scans its folder, as an observable of scan kinds:
 *
 *  - 'full' every `dirListIntervalMs` (Airflow's dag_dir_list_interval): list the folder, parse new
 *    and changed files, re-parse files older than min_file_process_interval, drop deleted ones;
 *  - 'changes' `debounceMs` after a burst of file-system events (an editor's save is several):
 *    list the folder and parse only what is new or changed.
 *
 * Pure RxJS on an injectable scheduler, so the timing is marble-tested.
 */
import { type Observable, type SchedulerLike, asyncScheduler, debounceTime, map, merge, timer } from 'rxjs';

export type ScanKind = 'full' | 'changes';

export function scanTriggers$(opts: {
  fileEvents$: Observable<unknown>;
  dirListIntervalMs: number;
  debounceMs: number;
  scheduler?: SchedulerLike;
}): Observable<ScanKind> {
  const scheduler = opts.scheduler ?? asyncScheduler;
  return merge(
    timer(opts.dirListIntervalMs, opts.dirListIntervalMs, scheduler).pipe(map((): ScanKind => 'full')),
    opts.fileEvents$.pipe(
      debounceTime(opts.debounceMs, scheduler),
      map((): ScanKind => 'changes'),
    ),
  );
}

/** Of two pending scan requests the broader wins: a full scan covers the changes too. */
export function broaderScan(a: ScanKind | null, b: ScanKind): ScanKind {
  return a === 'full' || b === 'full' ? 'full' : 'changes';
}
