/**
 * An exception thrown while importing a DAG file → the import error users see: the DAG file's own
 * message with file:line, and a stack cut down to the user's frames — deferflow's loader, tsx and
 * Node internals say nothing about what to fix in the DAG file.
 */
import { isInternalFrameFile, parseStackFrame } from '../../dag/definition-site.ts';
import { errorMessage } from '../../errors/deferflow-error.ts';
import type { DagImportErrorEntry } from '../dag-definition.ts';

interface LocatedError {
  location?: { file?: string; line?: number };
}

export function importErrorOf(file: string, e: unknown): DagImportErrorEntry {
  const message = errorMessage(e);
  const rawStack = e instanceof Error && e.stack ? e.stack : message;
  let line: number | undefined;
  const loc = (e as LocatedError | null)?.location;
  if (loc?.line && (!loc.file || loc.file === file)) line = loc.line;
  if (line === undefined) line = lineIn(file, `${message}\n${rawStack}`);
  const mentionsFile = message.includes(file);
  return {
    file,
    line,
    message: mentionsFile || line === undefined ? message : `${message} (${file}:${line})`,
    stack: userStack(e, message, rawStack),
  };
}

/** An import error that is not an exception (timeout, exit): message and stack are the same text. */
export function importErrorText(file: string, message: string, line?: number): DagImportErrorEntry {
  return { file, ...(line ? { line } : {}), message, stack: message };
}

/** `Name: message` followed only by stack frames in user files. */
function userStack(e: unknown, message: string, rawStack: string): string {
  const head = e instanceof Error ? `${e.name}: ${message}` : message;
  const frames = rawStack
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .filter((l) => {
      const f = parseStackFrame(l);
      return f !== null && !isInternalFrameFile(f.file);
    });
  return frames.length ? `${head}\n${frames.join('\n')}` : head;
}

/** First `file:line` reference to this file in an error text (stack frame or esbuild message). */
function lineIn(file: string, text: string): number | undefined {
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(?:file://)?${esc}(?:\\?[^:\\s)]*)?:(\\d+)`).exec(text);
  return m ? Number(m[1]) : undefined;
}
