/**
 * Parse DAG files in child processes (Airflow's DAG file processor processes): `concurrency`
 * children at once, each taking files one at a time from a shared queue. A file that outlives
 * `timeoutMs` (Airflow's dagbag_import_timeout) gets its child killed; a file whose import ends
 * the child (process.exit, a never-settling top-level await, a crash) is named as the culprit;
 * both become that file's import error and a fresh child takes the remaining files.
 */
import type { Logger } from 'pino';
import type { DagImportErrorEntry } from '../dag-definition.ts';
import type { FileParse } from './child-protocol.ts';
import { type ChildFailure, DagFileChildProcess, isChildFailure } from './dag-file-child-process.ts';
import { isInternalFrameFile } from '../../dag/definition-site.ts';
import { readFileSync } from 'node:fs';
import { importErrorText } from './import-error-entry.ts';
import { hangFramesIn, withoutHangReport } from './watchdog.ts';
import { DEFAULTS } from '../../config/defaults.ts';

export interface ParseOptions {
  /** Per-file import timeout (ms). */
  timeoutMs: number;
  /** Children at once (default 2, never more than there are files). */
  concurrency?: number;
  /** The DAGs folder the files were found in (relative paths; `.js` files there load as ESM). */
  folder?: string | null;
  logger?: Logger;
  /** Aborting kills the children at once; files not parsed by then are left out of the result. */
  signal?: AbortSignal;
  /** Called with each file's result as soon as it is known (a hanging file delays no other). */
  onResult?: (result: FileParse) => void;
  /** Called when a child starts importing a file. */
  onStart?: (file: string) => void;
}

/** Airflow's dagbag_import_timeout. */
export const DEFAULT_IMPORT_TIMEOUT_MS = DEFAULTS.dagbagImportTimeoutS * 1000;

/**
 * Parse every file; results in the order of `files`. Never rejects for a bad file. When aborted,
 * resolves with the files parsed so far only.
 */
export async function parseDagFiles(files: ReadonlyArray<string>, opts: ParseOptions): Promise<FileParse[]> {
  const results = new Array<FileParse | undefined>(files.length);
  let next = 0;
  const folder = opts.folder ?? null;
  const children = new Set<DagFileChildProcess>();
  const onAbort = (): void => {
    for (const c of children) c.kill();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const lane = async (): Promise<void> => {
    let child: DagFileChildProcess | null = null;
    try {
      while (next < files.length && !opts.signal?.aborted) {
        const i = next++;
        const file = files[i];
        if (!child?.alive) {
          child = new DagFileChildProcess({ folders: folder ? [folder] : [] }, { startTimeoutMs: Math.max(opts.timeoutMs, 30_000) });
          children.add(child);
        }
        opts.onStart?.(file);
        const answer = await child.request({ kind: 'parse', file, folder, timeoutMs: opts.timeoutMs }, opts.timeoutMs);
        if (opts.signal?.aborted) break;
        if (isChildFailure(answer)) {
          results[i] = {
            file,
            sourceHash: null,
            dags: [],
            error: failureError(file, answer),
            failure: answer.kind,
            importMs: answer.kind === 'timeout' ? answer.afterMs : 0,
          };
          opts.logger?.warn({ file, failure: answer.kind }, `DAG import error: ${results[i]?.error?.message}`);
          opts.onResult?.(results[i]!);
          if (answer.kind === 'start') {
            // The child cannot start at all (broken install): every remaining file would fail alike.
            while (next < files.length) {
              const j = next++;
              results[j] = { file: files[j], sourceHash: null, dags: [], error: failureError(files[j], answer), failure: 'start', importMs: 0 };
              opts.onResult?.(results[j]!);
            }
          }
        } else if (answer.kind === 'parsed') {
          const { kind: _, ...parse } = answer;
          results[i] = parse;
          opts.onResult?.(parse);
        }
      }
    } finally {
      child?.close();
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? DEFAULTS.parsingProcesses, files.length));
  try {
    await Promise.all(Array.from({ length: n }, lane));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return results.filter((r): r is FileParse => r !== undefined);
}

/** What a dead or killed child means for the file it was importing. */
export function failureError(file: string, f: ChildFailure): DagImportErrorEntry {
  const output = withoutHangReport(f.output).trim();
  const tail = output ? `\nOutput of the import before it ended:\n${output.split('\n').slice(-20).join('\n')}` : '';
  switch (f.kind) {
    case 'timeout': {
      const at = stuckAt(file, f.output);
      const where = at
        ? `it was still running ${at.file === file ? `line ${at.line}` : `${at.file}:${at.line}`}${at.text ? ` (\`${at.text}\`)` : ''}`
        : `${file} is still running code at import time`;
      return importErrorText(
        file,
        `DAG file import timed out after ${formatSeconds(f.afterMs)} (dagbag_import_timeout): ${where} — ` +
          `an endless loop, a network call or a slow computation at the top level? Move it into a task, or raise DEFERFLOW_DAGBAG_IMPORT_TIMEOUT. (${file}${at?.file === file ? `:${at.line}` : ''})${tail}`,
        at?.file === file ? at.line : undefined,
      );
    }
    case 'exit':
      if (f.signal) return importErrorText(file, `Importing ${file} killed its process (signal ${f.signal}).${tail}`);
      if (f.code === 0 || f.code === 13) {
        return importErrorText(
          file,
          `Importing ${file} never finished: a top-level await in it waits on a promise that can never settle (nothing left to run). ` +
            `Await only what completes, or move the work into a task.${tail}`,
        );
      }
      return importErrorText(file, `Importing ${file} ended its process with exit code ${f.code}; a DAG file must only define DAGs.${tail}`);
    case 'start':
      return importErrorText(file, `Could not import ${file}: ${f.message}.${tail}`);
  }
}

/**
 * Where the watchdog found the import stuck: the innermost frame in the DAG file itself, else in
 * any other user file (a helper it imports), with that line's text.
 */
function stuckAt(file: string, output: string): { file: string; line: number; text: string } | null {
  const frames = hangFramesIn(output);
  if (!frames) return null;
  const frame = frames.find((x) => x.file === file) ?? frames.find((x) => !isInternalFrameFile(x.file));
  if (!frame) return null;
  let text = '';
  try {
    text = (readFileSync(frame.file, 'utf8').split('\n')[frame.line - 1] ?? '').trim().slice(0, 120);
  } catch {
    // The line's text is a convenience; the location is what matters.
  }
  return { ...frame, text };
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
