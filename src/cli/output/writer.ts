/**
 * Where a command's output goes: stdout/stderr of this process, or a test's buffers. Apart from
 * the renderer (which loads the table library), so the program can be built without it.
 */

export interface Writer {
  out(text: string): void;
  err(text: string): void;
  /** Whether `out` is a terminal (colours, live redraws). */
  isTty: boolean;
}

export const processWriter: Writer = {
  out: (t) => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  isTty: Boolean(process.stdout.isTTY),
};
