/**
 * docs/ARCHITECTURE.md's machine-read parts: blocks between `<!-- BEGIN name -->` and
 * `<!-- END name -->`, each holding one Markdown table. The layer test reads its rules from there;
 * the state-machine tests compare generated tables with what is there. So the document a new
 * engineer reads first is the one the tests hold the code to.
 */
import { readRepoFile } from '../../support/typescript-sources.ts';

export const ARCHITECTURE_DOC = 'docs/ARCHITECTURE.md';

export function docText(): string {
  return readRepoFile(ARCHITECTURE_DOC);
}

/** The text between the block's markers (`<!-- BEGIN name -->` or `<!-- BEGIN name: a note -->`), or null when there is none. */
export function docBlock(name: string, text = docText()): string | null {
  const begin = new RegExp(`<!-- BEGIN ${name}(?::[^>]*)? -->`).exec(text);
  const j = text.indexOf(`<!-- END ${name} -->`);
  if (!begin || j < begin.index) return null;
  return text.slice(begin.index + begin[0].length, j).trim();
}

/** Body rows of the Markdown table in `block`, as trimmed cells (header and separator skipped). */
export function tableRows(block: string): string[][] {
  const lines = block.split('\n').filter((l) => l.trim().startsWith('|'));
  return lines.slice(2).map((l) =>
    l
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim()),
  );
}

/** Backquoted names in a cell: "`a`, `b` (types)" → [{ name: 'a', typesOnly: false }, { name: 'b', typesOnly: true }]. */
export function namesIn(cell: string): Array<{ name: string; typesOnly: boolean }> {
  return [...cell.matchAll(/`([^`]+)`(\s*\(types\))?/g)].map((m) => ({ name: m[1], typesOnly: Boolean(m[2]) }));
}
