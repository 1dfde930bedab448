/**
 * Messages between a DAG-file child process and its parent (Node's IPC channel, JSON). The parent
 * hands out one file at a time, so when the child dies or hangs it knows which file did it.
 */
import type { DagCallback } from '../../dag/dag.ts';
import type { DagImportErrorEntry } from '../dag-definition.ts';
import type { SerializedDagData } from '../serialized-dag.ts';

/** argv[2] of the child: what it needs before the first import. */
export interface ChildConfig {
  /** DAG folders: `.js` files under them load as ES modules whatever their package.json says. */
  folders: string[];
}

/** `timeoutMs`: the import timeout the parent enforces (the child reports where it hangs just before). */
export type ToChild =
  | { kind: 'parse'; file: string; folder: string | null; timeoutMs: number }
  | { kind: 'callback'; file: string; dagId: string; which: 'success' | 'failure'; info: Parameters<DagCallback>[0]; timeoutMs: number };

export interface FileParse {
  file: string;
  /** sha256 of the content the child read (null when it could not read the file). */
  sourceHash: string | null;
  dags: SerializedDagData[];
  error?: DagImportErrorEntry;
  /** Set when the child did not answer: it timed out (and was killed), exited, or never started. */
  failure?: 'timeout' | 'exit' | 'start';
  /** Time the import and serialization took in the child. */
  importMs: number;
}

export type FromChild = { kind: 'ready' } | ({ kind: 'parsed' } & FileParse) | { kind: 'callback-done'; error?: string };
